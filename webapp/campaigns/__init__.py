"""Campaigns: segments of the live customer list, and bulk sends to them."""
