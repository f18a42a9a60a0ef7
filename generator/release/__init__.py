"""Releases: versioned publishing to the Hub and the importer of the official MMMT-IF release."""
