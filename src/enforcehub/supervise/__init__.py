"""执法监督 (supervision): the working-day calendar, per-record facts and monthly rollups kept from the
change log, and declarative supervision rules that raise alerts. See docs/supervision.md."""
