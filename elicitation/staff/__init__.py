"""Staff pages: running a study from the browser (the Django admin stays for raw data)."""
