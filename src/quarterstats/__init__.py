"""quarterstats: district-level socio-demographic indicators from anonymised register extracts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("quarterstats")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
