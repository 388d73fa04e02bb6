"""Intake: reading the files agencies send (CSV, XLSX/XLS, JSON, JSON Lines) into uniform chunks."""
