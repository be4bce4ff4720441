"""Read-side queries and labels for the dashboard pages and the API."""
