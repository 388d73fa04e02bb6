"""Sharing: what may leave the hub, for whom and in what shape (publicity rules, masking, profiles)."""
