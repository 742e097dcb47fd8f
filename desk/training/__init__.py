"""The training log of service staff (التنمية المهنية لممثلي/ات خدمة المستفيد, R52)."""
