"""Demo data: realistic tickets generated in bulk."""

# The demo association's departments (``flask desk demo`` and the bulk generator, on an empty
# desk): code, Arabic name, English name, email, phone extension.
DEMO_DEPARTMENTS = [
    ("SOCIAL", "البحث الاجتماعي", "Social research", "social@demo.desk.sa", "201"),
    ("AID", "المساعدات والدعم", "Aid and support", "aid@demo.desk.sa", "202"),
    ("HEALTH", "الشؤون الصحية", "Health affairs", "health@demo.desk.sa", "203"),
    ("EDU", "التعليم والتدريب", "Education and training", "edu@demo.desk.sa", "204"),
    ("FIN", "الشؤون المالية", "Finance", "finance@demo.desk.sa", "205"),
    ("VOL", "التطوع", "Volunteering", "volunteer@demo.desk.sa", "206"),
]
