"""mzi — a Terraform-like reconciler between Zoho CRM and Moodle."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mzi")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
