"""The release version, in one place for the package and the command line."""

#: The version of this treatplan release.
__version__ = "0.1.0"
