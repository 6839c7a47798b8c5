"""Base types every floor shares: records, settings, errors, evidence records."""
