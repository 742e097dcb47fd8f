"""The beneficiary portal (/portal/): submit without an account, track by a private link or by
reference and phone, reply, rate the service; the public contact directory; the association's
branding. Nothing here trusts the visitor: every lookup that could tell whether a reference
exists answers the same way without the right key or phone."""
