"""The supervisors\x27 field work: daily field survey, emergencies, survey calendar, visitor counter."""
