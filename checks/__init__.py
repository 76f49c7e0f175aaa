"""rollcheck's built-in checks: ordinary pytest test files written with the public fixtures."""
