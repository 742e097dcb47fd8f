"""The privacy law's duties towards beneficiaries: their requests about their data (a copy, a
correction, erasure) and the retention of closed requests (desk.privacy.retention)."""
