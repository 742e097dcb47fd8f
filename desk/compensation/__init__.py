"""Compensation claims (طلب تعويض): issue 5 item 5."""
