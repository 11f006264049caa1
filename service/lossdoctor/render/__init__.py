"""Render: the same diagnosis as JSON for machines (markdown, chat cards and plots for people)."""
