"""Bulk demo data: departments, beneficiaries, tickets and their timelines.

``generate(session, n)`` writes ``n`` plausible tickets (Arabic first, some English) with
SQLAlchemy Core ``executemany`` inserts in batches, one commit per batch. Primary keys
are computed here (after each table's current maximum), so no ORM object is built per
row; on PostgreSQL the id sequences are moved past them at every batch, and the Hijri
year reference counters are written back in the same transaction as the tickets that
used them, so the app's own intake carries on without clashes.
"""
from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from sqlalchemy import ColumnDefault, Integer, Table, cast, func, insert, literal_column, select, text, update
from sqlalchemy.orm import Session

from desk.demo import DEMO_DEPARTMENTS
from desk.intake.rules import ANONYMOUS_KINDS, RULES, Need
from desk.models import (
    Beneficiary,
    Channel,
    Department,
    DepartmentMember,
    EventKind,
    Kind,
    Priority,
    ReferenceCounter,
    Role,
    SatisfactionResponse,
    SocialPlatform,
    Status,
    Ticket,
    TicketEvent,
    User,
    UserRole,
    format_reference,
    utcnow,
)
from desk.sla.tickets import apply_due_times_to_open
from desk.text import hijri_year, national_id_check_digit, normalize_search
from desk.tickets.search import deferred_index, ticket_search_text
from desk.transaction import commit

__all__ = ["generate"]

DAY = 86_400
HOUR = 3_600
SPAN_DAYS = 3 * 365
RIYADH = 3 * HOUR  # UTC+3 all year

# Plain str values: the drivers see ordinary strings, never enum members.
S_NEW, S_OPEN, S_WAITING, S_RESOLVED, S_CLOSED = (s.value for s in (
    Status.NEW, Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED))
S_AWAITING, E_COMMITTEE = Status.AWAITING_COMMITTEE.value, EventKind.COMMITTEE_REFERRED.value  # desk.committee
E_CREATED, E_STATUS, E_ASSIGNEE = EventKind.CREATED.value, EventKind.STATUS.value, EventKind.ASSIGNEE.value
E_NOTE, E_REPLY, E_VERIFIED, E_ATTESTED = (EventKind.NOTE.value, EventKind.REPLY.value,
                                          EventKind.VERIFIED.value, EventKind.ATTESTED.value)
E_ROUTED, E_RESOLVED = EventKind.ROUTED.value, EventKind.RESOLVED.value


# ------------------------------------------------------------------------------------
# Weights
# ------------------------------------------------------------------------------------

class _Pick:
    """Weighted choice with precomputed cumulative weights."""

    __slots__ = ("values", "cum", "total")

    def __init__(self, pairs: Sequence[tuple[object, float]]):
        self.values = [v for v, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random):
        return self.values[bisect(self.cum, rng.random() * self.total)]


KINDS = _Pick([
    (Kind.COMPLAINT.value, 30), (Kind.INQUIRY.value, 33), (Kind.SUGGESTION.value, 8),
    (Kind.SUPPORT.value, 19), (Kind.COMPENSATION.value, 2.5), (Kind.DISPUTE.value, 3.5),
    (Kind.THANKS.value, 4),
])
# What each channel tends to carry, where it differs from the overall mix.
KINDS_BY_CHANNEL = {
    Channel.HELP_REQUEST.value: _Pick([(Kind.SUPPORT.value, 80), (Kind.INQUIRY.value, 15), (Kind.COMPLAINT.value, 5)]),
    Channel.OUTREACH.value: _Pick([(Kind.SUPPORT.value, 90), (Kind.INQUIRY.value, 10)]),
    Channel.TAWASUL.value: _Pick([(Kind.COMPLAINT.value, 75), (Kind.INQUIRY.value, 15), (Kind.DISPUTE.value, 10)]),
    Channel.VOLUNTEER.value: _Pick([(Kind.INQUIRY.value, 40), (Kind.SUGGESTION.value, 20), (Kind.THANKS.value, 15),
                                    (Kind.COMPLAINT.value, 15), (Kind.DISPUTE.value, 5), (Kind.COMPENSATION.value, 5)]),
}
CHANNELS = _Pick([
    (Channel.PHONE.value, 27), (Channel.VISIT.value, 22), (Channel.SOCIAL.value, 20),
    (Channel.WEBSITE.value, 7), (Channel.EMAIL.value, 5), (Channel.HELP_REQUEST.value, 7),
    (Channel.LETTER.value, 3), (Channel.VOLUNTEER.value, 2.5), (Channel.BRANCH_DELEGATE.value, 3),
    (Channel.OUTREACH.value, 2), (Channel.TAWASUL.value, 1.5),
])
# Outside working hours (and at the weekend) only the unattended channels receive anything.
CHANNELS_OFF_HOURS = _Pick([
    (Channel.SOCIAL.value, 55), (Channel.WEBSITE.value, 25), (Channel.EMAIL.value, 15), (Channel.TAWASUL.value, 5),
])
PLATFORMS = _Pick([
    (SocialPlatform.WHATSAPP.value, 62), (SocialPlatform.X.value, 13), (SocialPlatform.INSTAGRAM.value, 9),
    (SocialPlatform.SNAPCHAT.value, 8), (SocialPlatform.FACEBOOK.value, 3), (SocialPlatform.TIKTOK.value, 4),
    (SocialPlatform.OTHER.value, 1),
])
PRIORITIES = _Pick([(int(Priority.LOW), 12), (int(Priority.NORMAL), 66), (int(Priority.HIGH), 17),
                    (int(Priority.URGENT), 5)])
# The intake rules decide what each kind needs; the generator follows them.
NEEDS_BENEFICIARY = {str(k) for k, r in RULES.items() if r.beneficiary == Need.REQUIRED}
NEEDS_NATIONAL_ID = {str(k) for k, r in RULES.items() if r.national_id == Need.REQUIRED}
MAY_BE_ANONYMOUS = {k.value for k in ANONYMOUS_KINDS}

# Hot-loop constants (a plain str compares faster than an enum member's ``.value``).
C_SOCIAL, C_BRANCH, C_WEBSITE, C_TAWASUL, C_LETTER, C_EMAIL = (
    Channel.SOCIAL.value, Channel.BRANCH_DELEGATE.value, Channel.WEBSITE.value, Channel.TAWASUL.value,
    Channel.LETTER.value, Channel.EMAIL.value)
K_THANKS, K_COMPLAINT, K_DISPUTE = Kind.THANKS.value, Kind.COMPLAINT.value, Kind.DISPUTE.value
K_SUPPORT = Kind.SUPPORT.value


# ------------------------------------------------------------------------------------
# Departments
# ------------------------------------------------------------------------------------



# ------------------------------------------------------------------------------------
# People
# ------------------------------------------------------------------------------------

MALE = [
    ("محمد", "Mohammed"), ("عبدالله", "Abdullah"), ("أحمد", "Ahmed"), ("خالد", "Khalid"), ("فهد", "Fahad"),
    ("سعود", "Saud"), ("عبدالرحمن", "Abdulrahman"), ("فيصل", "Faisal"), ("سلطان", "Sultan"), ("ناصر", "Nasser"),
    ("تركي", "Turki"), ("بندر", "Bandar"), ("ماجد", "Majed"), ("سعد", "Saad"), ("علي", "Ali"), ("عمر", "Omar"),
    ("يوسف", "Yousef"), ("إبراهيم", "Ibrahim"), ("صالح", "Saleh"), ("حمد", "Hamad"), ("نايف", "Naif"),
    ("مشعل", "Mishal"), ("عبدالعزيز", "Abdulaziz"), ("منصور", "Mansour"), ("راشد", "Rashid"), ("ياسر", "Yasser"),
    ("حسن", "Hassan"), ("زياد", "Ziyad"), ("بدر", "Badr"), ("طلال", "Talal"), ("عبدالمجيد", "Abdulmajeed"),
    ("مساعد", "Musaed"), ("هزاع", "Hazza"), ("متعب", "Mutaib"), ("سامي", "Sami"), ("وليد", "Waleed"),
]
FEMALE = [
    ("نورة", "Noura"), ("فاطمة", "Fatimah"), ("سارة", "Sarah"), ("مريم", "Maryam"), ("هند", "Hind"),
    ("عبير", "Abeer"), ("منيرة", "Munira"), ("لطيفة", "Latifa"), ("الجوهرة", "Aljohara"), ("أمل", "Amal"),
    ("هيفاء", "Haifa"), ("ريم", "Reem"), ("نوف", "Nouf"), ("منى", "Mona"), ("عائشة", "Aisha"), ("خلود", "Kholoud"),
    ("أسماء", "Asma"), ("حصة", "Hessa"), ("شيخة", "Sheikha"), ("رهف", "Rahaf"), ("جواهر", "Jawaher"),
    ("بشرى", "Bushra"), ("وفاء", "Wafa"), ("سلمى", "Salma"), ("غادة", "Ghada"), ("دلال", "Dalal"),
]
FAMILIES = [
    ("القحطاني", "Al-Qahtani"), ("العتيبي", "Al-Otaibi"), ("الشمري", "Al-Shammari"), ("الدوسري", "Al-Dosari"),
    ("الغامدي", "Al-Ghamdi"), ("الزهراني", "Al-Zahrani"), ("الحربي", "Al-Harbi"), ("المطيري", "Al-Mutairi"),
    ("العنزي", "Al-Anazi"), ("السبيعي", "Al-Subaie"), ("الشهري", "Al-Shehri"), ("العمري", "Al-Omari"),
    ("المالكي", "Al-Malki"), ("السهلي", "Al-Sahli"), ("البقمي", "Al-Baqami"), ("الرشيدي", "Al-Rashidi"),
    ("الجهني", "Al-Juhani"), ("الثبيتي", "Al-Thubaiti"), ("الأحمدي", "Al-Ahmadi"), ("القرني", "Al-Qarni"),
    ("العسيري", "Al-Asiri"), ("الفيفي", "Al-Faifi"), ("الخالدي", "Al-Khaldi"), ("السديري", "Al-Sudairi"),
    ("الحازمي", "Al-Hazmi"), ("البلوي", "Al-Balawi"), ("المري", "Al-Marri"), ("الهاجري", "Al-Hajri"),
    ("اليامي", "Al-Yami"), ("الشهراني", "Al-Shahrani"), ("التميمي", "Al-Tamimi"), ("العنزي", "Al-Enezi"),
]
# Iqama holders (IDs starting with 2) served by the association.
RESIDENT_FAMILIES = [
    ("عبدالرحيم", "Abdulraheem"), ("إسماعيل", "Ismail"), ("الأنصاري", "Al-Ansari"), ("خان", "Khan"),
    ("عثمان", "Osman"), ("حسين", "Hussein"), ("الصديقي", "Siddiqui"), ("عبدالقادر", "Abdulqader"),
]
CITIES = _Pick([
    (("الرياض", "Riyadh"), 30), (("جدة", "Jeddah"), 16), (("مكة المكرمة", "Makkah"), 9),
    (("المدينة المنورة", "Madinah"), 7), (("الدمام", "Dammam"), 6), (("الخبر", "Khobar"), 3),
    (("الطائف", "Taif"), 4), (("أبها", "Abha"), 3), (("خميس مشيط", "Khamis Mushait"), 3),
    (("تبوك", "Tabuk"), 3), (("حائل", "Hail"), 3), (("بريدة", "Buraydah"), 3), (("جازان", "Jazan"), 3),
    (("نجران", "Najran"), 2), (("الأحساء", "Al-Ahsa"), 3), (("الخرج", "Al-Kharj"), 2), (("ينبع", "Yanbu"), 1),
    (("عرعر", "Arar"), 1), (("سكاكا", "Sakaka"), 1), (("الباحة", "Al-Baha"), 1),
])
BRANCHES = ["مكتب الخرج", "مكتب الدرعية", "مكتب المزاحمية", "مكتب الدلم", "مكتب حوطة بني تميم",
            "مكتب شقراء", "مكتب الزلفي", "مكتب القويعية"]
EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.sa"]
MOBILE_PREFIX = "0345689"  # 050, 053, 054, 055, 056, 058, 059


# ------------------------------------------------------------------------------------
# Text pools. Subjects: (template, department code or None = the slot's code).
# ------------------------------------------------------------------------------------

AID_AR = [
    ("السلة الغذائية", "AID"), ("الإعانة الشهرية", "FIN"), ("دعم الإيجار", "FIN"), ("كسوة الشتاء", "AID"),
    ("الحقيبة المدرسية", "EDU"), ("بطاقة التسوق", "AID"), ("كسوة العيد", "AID"), ("السلة الرمضانية", "AID"),
    ("دعم فاتورة الكهرباء", "FIN"), ("الأجهزة الكهربائية", "AID"), ("الجهاز الطبي", "HEALTH"),
    ("زكاة الفطر", "AID"), ("لحوم الأضاحي", "AID"), ("المساعدة المقطوعة", "FIN"),
]
AID_EN = [
    ("the food basket", "AID"), ("the monthly allowance", "FIN"), ("rent support", "FIN"),
    ("the winter clothing aid", "AID"), ("the school bag", "EDU"), ("the shopping card", "AID"),
    ("the Ramadan basket", "AID"), ("the electricity bill support", "FIN"), ("the medical device", "HEALTH"),
    ("the Eid clothing aid", "AID"),
]
PLACE_AR = ["الاستقبال", "مكتب البحث الاجتماعي", "الفرع النسائي", "مستودع التوزيع", "الخدمة الهاتفية"]

SUBJECTS_AR: dict[str, list[tuple[str, str | None]]] = {
    Kind.COMPLAINT.value: [
        ("تأخر صرف {aid}", None), ("عدم استلام {aid} حتى الآن", None),
        ("سوء تعامل من أحد الموظفين في {place}", "ADMIN"), ("طول مدة الانتظار عند مراجعة الجمعية", "ADMIN"),
        ("عدم الرد على الاتصالات المتكررة", "MEDIA"), ("نقص في محتويات {aid}", None),
        ("تأخر زيارة الباحث الاجتماعي", "SOCIAL"), ("رفض طلب الدعم دون توضيح الأسباب", "SOCIAL"),
        ("إيقاف الإعانة الشهرية دون إشعار", "FIN"), ("تأخر تحويل مبلغ دعم الإيجار", "FIN"),
        ("عدم توفر موعد للكشف في العيادة المجانية", "HEALTH"), ("عطل في الجهاز الطبي المستلم", "HEALTH"),
        ("عدم وضوح إجراءات التسجيل في الجمعية", "SOCIAL"), ("تأخر تسليم الحقائب المدرسية للأبناء", "EDU"),
        ("إلغاء موعد المقابلة دون إبلاغي", "SOCIAL"), ("رسالة خاطئة عن موعد الصرف", "MEDIA"),
        ("صعوبة وصول كبار السن إلى مقر الجمعية", "ADMIN"),
        ("عدم احتساب جميع أفراد الأسرة في السلة الغذائية", "AID"),
        ("انتهاء صلاحية بعض مواد السلة الغذائية", "AID"), ("تأخر الرد على الطلب المقدم عبر الموقع", "MEDIA"),
        ("شكوى من تنظيم يوم التوزيع", "AID"), ("عدم التزام المندوب بموعد الزيارة", "SOCIAL"),
    ],
    Kind.INQUIRY.value: [
        ("الاستفسار عن موعد صرف {aid}", None), ("الاستفسار عن حالة طلب الدعم", "SOCIAL"),
        ("ما شروط التسجيل في الجمعية؟", "SOCIAL"), ("المستندات المطلوبة لطلب المساعدة", "SOCIAL"),
        ("تحديث بيانات الأسرة ورقم الجوال", "SOCIAL"), ("الاستفسار عن برامج التدريب المتاحة", "EDU"),
        ("طريقة التسجيل في برنامج التطوع", "VOL"), ("الاستفسار عن مواعيد العيادة المجانية", "HEALTH"),
        ("هل يشمل الدعم المقيمين؟", "SOCIAL"), ("الاستفسار عن شروط {aid}", None),
        ("الاستفسار عن توزيع الحقائب المدرسية", "EDU"), ("مواعيد الدوام الرسمي للجمعية خلال رمضان", "ADMIN"),
        ("الاستفسار عن نتيجة دراسة الحالة", "SOCIAL"), ("كيفية التبرع للجمعية", "FIN"),
        ("الاستفسار عن نقل الملف إلى فرع آخر", "ADMIN"), ("موعد زيارة الباحث الاجتماعي", "SOCIAL"),
        ("الاستفسار عن الدورات التدريبية للنساء", "EDU"), ("هل يمكن استلام {aid} عن طريق قريب؟", None),
        ("الاستفسار عن شهادة التطوع", "VOL"),
    ],
    Kind.SUGGESTION.value: [
        ("اقتراح إضافة خدمة حجز المواعيد إلكترونياً", "MEDIA"), ("مقترح توصيل السلال الغذائية لكبار السن", "AID"),
        ("اقتراح تخصيص مكان انتظار للنساء", "ADMIN"), ("مقترح إرسال رسائل تذكير قبل موعد الصرف", "MEDIA"),
        ("اقتراح تنظيم دورات في الحاسب الآلي للأبناء", "EDU"), ("مقترح شراكة مع صيدليات لصرف الأدوية", "HEALTH"),
        ("اقتراح تمديد ساعات الاستقبال مساءً", "ADMIN"), ("مقترح تفعيل خدمة الواتساب للاستفسارات", "MEDIA"),
        ("اقتراح بطاقات تسوق بدلاً من السلال", "AID"), ("مقترح برنامج لتأهيل الأبناء لسوق العمل", "EDU"),
        ("اقتراح فرص تطوع لطلاب الجامعات", "VOL"), ("مقترح تبسيط نموذج طلب دعم مستفيد", "SOCIAL"),
        ("اقتراح توفير مترجم للمراجعين", "ADMIN"), ("مقترح إقامة يوم صحي مجاني في الحي", "HEALTH"),
        ("اقتراح نشر دليل المستفيد على الموقع الإلكتروني", "MEDIA"), ("مقترح لتحسين محتوى {aid}", None),
    ],
    Kind.SUPPORT.value: [
        ("طلب {aid}", None), ("طلب مساعدة في سداد الإيجار المتأخر", "FIN"), ("طلب توفير كرسي متحرك", "HEALTH"),
        ("طلب مساعدة في شراء أدوية", "HEALTH"), ("طلب دعم لأسرة متعففة", "SOCIAL"), ("طلب ترميم منزل", "AID"),
        ("طلب مساعدة في الرسوم الدراسية", "EDU"), ("طلب أجهزة كهربائية للمنزل", "AID"),
        ("طلب دعم عاجل بعد حريق في المنزل", "AID"), ("طلب سداد فاتورة الكهرباء", "FIN"),
        ("طلب مساعدة لأرملة وأبنائها", "SOCIAL"), ("طلب توفير نظارة طبية", "HEALTH"),
        ("طلب دعم تكاليف علاج", "HEALTH"), ("طلب حقائب مدرسية للأبناء", "EDU"),
        ("طلب تسجيل أسرة جديدة في الجمعية", "SOCIAL"), ("طلب سماعة طبية لكبير سن", "HEALTH"),
        ("طلب سلة غذائية عاجلة", "AID"), ("طلب دعم أسرة سجين", "SOCIAL"),
    ],
    Kind.COMPENSATION.value: [
        ("طلب تعويض عن تلف جهاز كهربائي مستلم", "AID"), ("طلب تعويض عن مواد غذائية منتهية الصلاحية", "AID"),
        ("طلب تعويض عن تأخر صرف المستحقات", "FIN"), ("طلب تعويض عن خطأ في تحويل مبلغ الإعانة", "FIN"),
        ("طلب تعويض عن تكاليف نقل بسبب إلغاء موعد", "ADMIN"), ("طلب تعويض عن ضرر أثناء توصيل الأثاث", "AID"),
        ("طلب تعويض عن خصم غير مستحق من الإعانة", "FIN"), ("طلب تعويض عن فقدان مستندات سلمت للجمعية", "ADMIN"),
        ("طلب تعويض عن جهاز طبي معطل", "HEALTH"), ("طلب تعويض متطوع عن مصاريف نشاط", "VOL"),
        ("طلب تعويض عن إصابة خلال فعالية للجمعية", "ADMIN"), ("طلب تعويض عن بطاقة تسوق لم تقبل لدى المتجر", "AID"),
        ("طلب تعويض مورد عن تأخر سداد فاتورة", "FIN"), ("طلب تعويض عن أضرار ترميم المنزل", "AID"),
        ("طلب تعويض عن إلغاء دورة تدريبية", "EDU"),
    ],
    Kind.DISPUTE.value: [
        ("خلاف حول أحقية الأسرة في الإعانة", "SOCIAL"), ("خلاف بين الورثة على استلام المساعدة", "SOCIAL"),
        ("خلاف مع المورد على كميات السلال", "AID"), ("اعتراض على نتيجة دراسة الحالة", "SOCIAL"),
        ("خلاف حول عدد أفراد الأسرة المسجلين", "SOCIAL"), ("خلاف مع مؤجر السكن على مبلغ الدعم", "FIN"),
        ("اعتراض على قرار لجنة البحث", "SOCIAL"), ("خلاف بين الزوجين على استلام الإعانة", "SOCIAL"),
        ("خلاف حول مواعيد فرصة تطوعية", "VOL"), ("اعتراض على إيقاف {aid}", None),
        ("خلاف حول تقييم حالة السكن", "SOCIAL"), ("خلاف مع جهة شريكة حول تنفيذ برنامج", "ADMIN"),
        ("اعتراض على ترتيب الأولوية في قائمة الانتظار", "SOCIAL"), ("خلاف حول ملكية جهاز مستلم من الجمعية", "AID"),
        ("خلاف على شهادة تطوع لم تصدر", "VOL"),
    ],
    Kind.THANKS.value: [
        ("شكر لموظفي {place} على حسن التعامل", "ADMIN"), ("شكر للباحث الاجتماعي على المتابعة", "SOCIAL"),
        ("شكر على سرعة صرف {aid}", None), ("شكر وتقدير للجمعية على دعم الأسرة", "SOCIAL"),
        ("شكر لفريق التطوع على تنظيم الفعالية", "VOL"), ("شكر على الحقائب المدرسية", "EDU"),
        ("شكر على توفير الجهاز الطبي", "HEALTH"), ("شكر على سرعة الرد على الاستفسار", "MEDIA"),
        ("رسالة شكر من أسرة مستفيدة", "SOCIAL"), ("شكر على دعم الإيجار", "FIN"),
        ("شكر لفريق العيادة المجانية", "HEALTH"), ("شكر للمندوب على زيارة المنزل", "SOCIAL"),
        ("شكر على الدورة التدريبية", "EDU"), ("جزاكم الله خيراً على السلة الرمضانية", "AID"),
        ("شكر على حسن الاستقبال والتنظيم", "ADMIN"),
    ],
}
SUBJECTS_EN: dict[str, list[tuple[str, str | None]]] = {
    Kind.COMPLAINT.value: [
        ("Delay in receiving {aid}", None), ("Rude treatment at the reception desk", "ADMIN"),
        ("No answer to my repeated calls", "MEDIA"), ("Monthly allowance stopped without notice", "FIN"),
        ("Rent support transfer is late", "FIN"), ("Long waiting time at the branch office", "ADMIN"),
        ("Support request rejected without explanation", "SOCIAL"), ("Missing items in {aid}", None),
        ("Damaged medical device received", "HEALTH"),
    ],
    Kind.INQUIRY.value: [
        ("When will {aid} be distributed?", None), ("Status of my support request", "SOCIAL"),
        ("Documents required to register", "SOCIAL"), ("How to register as a volunteer", "VOL"),
        ("Opening hours during Ramadan", "ADMIN"), ("Is rent support available for residents?", "FIN"),
        ("Free clinic appointment times", "HEALTH"), ("Training courses for women", "EDU"),
    ],
    Kind.SUGGESTION.value: [
        ("Suggestion: online appointment booking", "MEDIA"), ("Deliver food baskets to elderly beneficiaries", "AID"),
        ("Send SMS reminders before distribution days", "MEDIA"),
        ("Computer courses for beneficiaries' children", "EDU"),
        ("Extend reception hours into the evening", "ADMIN"),
        ("Volunteering opportunities for university students", "VOL"),
    ],
    Kind.SUPPORT.value: [
        ("Request for {aid}", None), ("Request for a wheelchair", "HEALTH"), ("Help with medicine costs", "HEALTH"),
        ("School bags for my children", "EDU"), ("Urgent food assistance", "AID"),
        ("Help paying the electricity bill", "FIN"), ("Help with overdue rent", "FIN"),
    ],
    Kind.COMPENSATION.value: [
        ("Compensation for a damaged appliance", "AID"), ("Compensation for expired food items", "AID"),
        ("Compensation for a wrong allowance transfer", "FIN"),
        ("Compensation for travel costs after a cancelled appointment", "ADMIN"),
        ("Volunteer expenses not reimbursed", "VOL"),
    ],
    Kind.DISPUTE.value: [
        ("Objection to the research committee's decision", "SOCIAL"),
        ("Dispute over household members on record", "SOCIAL"),
        ("Dispute with the landlord about rent support", "FIN"), ("Objection to stopping {aid}", None),
        ("Dispute with a supplier over delivered quantities", "AID"),
    ],
    Kind.THANKS.value: [
        ("Thank you to the reception staff", "ADMIN"), ("Thanks for the quick response", "MEDIA"),
        ("Thanks for the school bags", "EDU"), ("Thank you for supporting our family", "SOCIAL"),
        ("Thanks to the volunteering team", "VOL"), ("Thanks for {aid}", None),
    ],
}

OPENERS_AR = ["السلام عليكم ورحمة الله وبركاته،", "السلام عليكم،", "تحية طيبة وبعد،", "صباح الخير،",
              "مساء الخير،", "", ""]
CLOSERS_AR = ["وجزاكم الله خيراً.", "وشكراً لكم.", "أرجو سرعة الرد.", "وتقبلوا خالص التحية.",
              "أرجو التواصل معي على الجوال.", "والله يحفظكم.", ""]
DETAILS_AR = ["رقم الملف لدى الجمعية {num}.", "عدد أفراد الأسرة {small}.", "راجعت الجمعية {small} مرات بخصوص ذلك.",
              "مضى على الطلب {small} أسابيع.", "الأسرة تسكن في حي {district}.", ""]
DISTRICTS_AR = ["النسيم", "الروضة", "السويدي", "العزيزية", "الشفا", "النزهة", "الملز", "الفيصلية", "الصفا", "الربوة"]
BODY_AR: dict[str, list[str]] = {
    Kind.COMPLAINT.value: [
        "تقدمت بطلب منذ فترة ولم يتم صرف المستحق حتى الآن رغم المراجعة.",
        "لم أتلق أي رد على اتصالاتي المتكررة على الرقم الموحد.",
        "انتظرت أكثر من ساعتين في الاستقبال دون أن يتم خدمتي.",
        "تعامل الموظف معي بأسلوب غير لائق أمام المراجعين.",
        "السلة المستلمة ناقصة ولا تكفي عدد أفراد الأسرة.",
        "تم إيقاف الإعانة دون إشعار مسبق ولا أعرف السبب.",
        "الباحث الاجتماعي لم يحضر في الموعد المحدد للزيارة.",
        "وصلتني رسالة بموعد الصرف وعند الحضور قيل لي إن الموعد غير صحيح.",
        "الجهاز المستلم توقف عن العمل بعد أسبوع من الاستلام.",
        "والدتي كبيرة في السن ولا تستطيع صعود الدرج في مقر الجمعية.",
    ],
    Kind.INQUIRY.value: [
        "أرغب في معرفة موعد الصرف القادم.",
        "ما المستندات المطلوبة لإكمال التسجيل؟",
        "قدمت طلباً عبر الموقع وأرغب في معرفة حالته.",
        "هل يمكن تحديث رقم الجوال دون الحضور إلى الجمعية؟",
        "هل توجد دورات تدريبية متاحة هذا الفصل؟",
        "أرغب في التسجيل متطوعاً في برامج الجمعية.",
        "هل تشمل خدمات الجمعية الأسر المقيمة؟",
        "متى تبدأ مواعيد العيادة المجانية؟",
        "هل يمكن أن يستلم أحد أقاربي المساعدة نيابة عني؟",
    ],
    Kind.SUGGESTION.value: [
        "أقترح إتاحة حجز المواعيد عبر الموقع لتخفيف الزحام.",
        "يا حبذا لو يتم توصيل السلال لكبار السن وذوي الإعاقة.",
        "أقترح إرسال رسالة تذكير قبل موعد الصرف بيوم.",
        "من المفيد تخصيص مكان انتظار مهيأ للنساء والأطفال.",
        "أقترح التعاون مع الصيدليات القريبة لصرف الأدوية للمستفيدين.",
        "نتمنى تمديد ساعات الاستقبال إلى المساء للموظفين.",
        "أقترح تنظيم دورات تأهيلية للأبناء لدخول سوق العمل.",
    ],
    Kind.SUPPORT.value: [
        "أنا أرملة ولدي أربعة أبناء في المدارس وليس لنا دخل ثابت.",
        "تراكمت علينا أجرة المنزل لثلاثة أشهر والمؤجر يطالب بالإخلاء.",
        "والدي مريض ويحتاج إلى كرسي متحرك وسرير طبي.",
        "فقدت عملي منذ أشهر ولا أستطيع توفير احتياجات الأسرة.",
        "نحتاج إلى ثلاجة وغسالة بعد تعطل الأجهزة القديمة.",
        "تعرض المنزل لحريق وتلفت معظم محتوياته.",
        "أحتاج مساعدة في شراء أدوية شهرية غير متوفرة في المستشفى.",
        "الأبناء بحاجة إلى حقائب وأدوات مدرسية مع بداية العام الدراسي.",
        "فاتورة الكهرباء متأخرة وتم إنذارنا بفصل الخدمة.",
        "أرفقت صورة الهوية وصك الإعالة وعقد الإيجار.",
    ],
    Kind.COMPENSATION.value: [
        "استلمت جهازاً من الجمعية وتبين أنه تالف عند التشغيل.",
        "بعض المواد في السلة كانت منتهية الصلاحية مما سبب ضرراً للأسرة.",
        "تم خصم مبلغ من الإعانة دون وجه حق.",
        "تحملت تكاليف نقل للحضور إلى موعد تم إلغاؤه دون إبلاغي.",
        "تضرر أثاث المنزل أثناء أعمال الترميم التي نفذتها الجمعية.",
        "فقدت المستندات الأصلية التي سلمتها للجمعية.",
        "أطلب التعويض وفق سياسة التعويض المعتمدة لدى الجمعية.",
    ],
    Kind.DISPUTE.value: [
        "أعترض على نتيجة دراسة الحالة لأن الوضع المادي للأسرة لم يتغير.",
        "يوجد خلاف بين الورثة حول من يستلم المساعدة.",
        "المؤجر يرفض استلام مبلغ الدعم ويطالب بالمبلغ كاملاً.",
        "تم احتساب عدد أفراد الأسرة بشكل خاطئ في النظام.",
        "أطلب إعادة النظر في قرار لجنة البحث.",
        "أرجو الحل الودي للخلاف قبل اللجوء إلى أي جهة أخرى.",
    ],
    Kind.THANKS.value: [
        "أشكر الموظفين على حسن الاستقبال وسرعة الإنجاز.",
        "جزاكم الله خيراً على ما تقدمونه للأسر المحتاجة.",
        "أشكر الباحث الاجتماعي على متابعته واهتمامه بحالتنا.",
        "وصلت المساعدة في وقتها وكانت عوناً كبيراً لنا.",
        "شكراً لفريق التطوع على التنظيم الرائع.",
        "تعامل راقٍ من جميع الموظفين، بارك الله فيكم.",
    ],
}
OPENERS_EN = ["Hello,", "Dear team,", "Good morning,", "Assalamu alaikum,", ""]
CLOSERS_EN = ["Thank you.", "Please get back to me soon.", "Best regards.", "You can reach me on my mobile.", ""]
DETAILS_EN = ["My file number is {num}.", "We are a family of {small}.", "I have called {small} times about this.", ""]
BODY_EN: dict[str, list[str]] = {
    Kind.COMPLAINT.value: [
        "I applied weeks ago and still have not received anything.",
        "Nobody answers the phone when I call the association.",
        "I waited for more than two hours at reception without being served.",
        "The allowance was stopped without any notice.",
        "The basket I received was missing several items.",
    ],
    Kind.INQUIRY.value: [
        "I would like to know the date of the next distribution.",
        "Which documents do I need to complete my registration?",
        "I submitted a request on the website and would like to know its status.",
        "Can a relative collect the aid on my behalf?",
    ],
    Kind.SUGGESTION.value: [
        "It would help to book appointments online and avoid the crowds.",
        "Please consider delivering baskets to elderly beneficiaries.",
        "A reminder message the day before distribution would be useful.",
    ],
    Kind.SUPPORT.value: [
        "I am a widow with four children at school and no fixed income.",
        "Our rent is three months overdue and the landlord wants us to leave.",
        "My father is ill and needs a wheelchair.",
        "I lost my job and cannot cover my family's needs.",
        "I have attached my ID, the family record and the lease.",
    ],
    Kind.COMPENSATION.value: [
        "The appliance I received from the association does not work.",
        "Some food items in the basket were expired.",
        "An amount was deducted from my allowance by mistake.",
        "I paid for transport to an appointment that was cancelled without notice.",
    ],
    Kind.DISPUTE.value: [
        "I object to the result of the case study; our situation has not changed.",
        "The number of family members on record is wrong.",
        "The landlord refuses the rent support and wants the full amount.",
        "I ask for an amicable settlement of this disagreement.",
    ],
    Kind.THANKS.value: [
        "Thank you for the kind reception and the quick service.",
        "The support arrived on time and helped us a lot.",
        "The social researcher followed our case with great care.",
    ],
}

NOTES_AR = [
    "تم التواصل مع المستفيد هاتفياً وإبلاغه بالإجراء.", "بانتظار إفادة القسم المختص.",
    "تمت إحالة الطلب إلى لجنة البحث.", "تم التحقق من البيانات ومطابقتها مع الهوية.",
    "يرجى المتابعة قبل نهاية الأسبوع.", "المستفيد لم يرد على الاتصال، ستتم المحاولة لاحقاً.",
    "تم التنسيق مع المورد لاستبدال المواد.", "تمت جدولة زيارة ميدانية من الباحث الاجتماعي.",
    "تمت إحالة المستفيد إلى مسؤول البحث الاجتماعي لتوضيح الإجراءات.", "الطلب مرتبط بطلب سابق للأسرة نفسها.",
    "تم رفع الموضوع للمدير العام لاتخاذ الإجراء التصحيحي.",
]
NOTES_EN = [
    "Called the beneficiary and explained the procedure.", "Waiting for the department's answer.",
    "Referred to the research committee.", "Data checked against the ID card.",
    "No answer on the phone; will try again tomorrow.",
]
ASK_AR = [
    "نأمل تزويدنا بصورة الهوية الوطنية وصك الإعالة لاستكمال الطلب.", "نرجو تزويدنا بعقد الإيجار ساري المفعول.",
    "نأمل إرسال التقرير الطبي الحديث.", "نرجو تحديث رقم الجوال والعنوان الوطني.",
    "نأمل تزويدنا بما يثبت الدخل الشهري للأسرة.", "نرجو الحضور إلى مقر الجمعية لاستكمال المقابلة.",
]
ASK_EN = [
    "Please send us a copy of your ID and the family record.", "Please send a valid lease contract.",
    "Please send a recent medical report.", "Please update your mobile number and national address.",
]
ANSWER_AR = [
    "تمت معالجة طلبكم، ونشكر لكم تواصلكم.",
    "نفيدكم بأنه تمت الموافقة على الطلب من لجنة البحث، وسيتم التواصل معكم لتحديد موعد الاستلام.",
    "نعتذر عن التأخير، وقد تم صرف المستحق.",
    "نفيدكم بأن الطلب لا تنطبق عليه شروط الدعم حالياً، ويمكنكم إعادة التقديم بعد ستة أشهر.",
    "شكراً لمقترحكم، وسيتم عرضه على الإدارة المختصة.",
    "مواعيد الصرف تبدأ يوم الأحد القادم من الساعة الثامنة صباحاً.",
    "تم التواصل مع القسم المختص وحل المشكلة، ونأمل أن تكون الخدمة قد نالت رضاكم.",
    "تمت تسوية الموضوع ودياً بحضور الطرفين.",
]
ANSWER_EN = [
    "Your request has been handled; thank you for contacting us.",
    "The research committee approved your request; we will call you to arrange collection.",
    "We apologise for the delay; the amount has now been paid.",
    "Thank you for your suggestion; it has been passed to the department concerned.",
]
THANKS_REPLY_AR = ["نشكر لكم كلماتكم الطيبة، وسعداء بخدمتكم دائماً.", "شكراً لتواصلكم، وتم إبلاغ الفريق بشكركم."]
THANKS_REPLY_EN = ["Thank you for your kind words; we are always happy to serve you."]

# الإجراء المتخذ: what the focal point records when resolving (the statistics report it).
ACTION_AR = [
    "تم التواصل مع المستفيد هاتفيًا وإيضاح الإجراءات.",
    "عُرض الطلب على لجنة البحث وصدر قرارها بالموافقة.",
    "تم صرف المستحق المتأخر وإبلاغ المستفيد.",
    "تمت إحالة المستفيد إلى مسؤول البحث الاجتماعي واستكمال ملفه.",
    "تم تحديث بيانات المستفيد وإعادة جدولة الموعد.",
    "رُفع المقترح إلى الإدارة المختصة لدراسته.",
]
ACTION_EN = [
    "Called the beneficiary and explained the procedure.",
    "Put to the research committee, which approved it.",
    "Paid the late amount and told the beneficiary.",
    "Referred to the social research officer; the file is complete.",
    "Updated the beneficiary's record and rescheduled the appointment.",
    "Passed the suggestion to the department concerned.",
]


# Satisfaction answers (قياس رضا المستفيد): about a third of resolved tickets get one.
SATISFACTION_SHARE = 0.35
RATINGS = _Pick([(5, 41), (4, 27), (3, 13), (2, 9), (1, 10)])
COMMENTS_AR = [
    "شكراً على سرعة التجاوب.", "الموظف كان متعاوناً جداً.", "تأخر الرد كثيراً.",
    "لم تُحل المشكلة بالكامل.", "خدمة ممتازة جزاكم الله خيراً.", "أتمنى تحسين التواصل الهاتفي.",
]
COMMENTS_EN = ["Quick and helpful, thank you.", "It took too long to hear back.", "The issue is only partly solved."]
# A rough resolution target per kind, in days (the SLA policy's business days, as calendar days):
# generated tickets that are already done keep a due time, so SLA compliance has figures.
TARGET_DAYS = {Kind.COMPLAINT.value: 7, Kind.INQUIRY.value: 3, Kind.SUGGESTION.value: 14, Kind.SUPPORT.value: 21,
               Kind.COMPENSATION.value: 21, Kind.DISPUTE.value: 14, Kind.THANKS.value: 7}


# ------------------------------------------------------------------------------------
# The generator
# ------------------------------------------------------------------------------------

Subject = tuple[str, str | None]  # (text, department code)


def _expand(pool: dict[str, list[Subject]], aids, places) -> dict[str, list[list[Subject]]]:
    """Each template → every way of filling its slot, as (subject, department code)."""
    out: dict[str, list[list[Subject]]] = {}
    for kind, templates in pool.items():
        out[kind] = []
        for template, code in templates:
            if "{aid}" in template:
                out[kind].append([(template.format(aid=a), code or c) for a, c in aids])
            elif "{place}" in template:
                out[kind].append([(template.format(place=p), code) for p in places])
            else:
                out[kind].append([(template, code)])
    return out


def _max_id(session: Session, table) -> int:
    return session.execute(select(func.max(table.c.id))).scalar() or 0


def _luhn_id(rng: random.Random, first: str) -> str:
    body = first + "".join(rng.choice("0123456789") for _ in range(8))
    return body + national_id_check_digit(body)


def generate(session: Session, n: int, *, seed: int = 1, now: datetime | None = None, batch: int = 5000,
             progress: Callable[[int], None] | None = None) -> int:
    """Insert ``n`` realistic tickets (with beneficiaries and timelines); returns how many.
    The search index takes the new tickets once at the end (row by row, a million took 34
    minutes on SQLite, the batches slowing down as the FTS index grew)."""
    if n <= 0:
        return 0
    with deferred_index(session, n):
        made = _generate(session, n, seed=seed, now=now, batch=batch, progress=progress)
    # Open tickets get their due moments from the SLA policy, as one recorded at the desk does:
    # without them the queue never showed a due or overdue badge on generated data and the
    # Overdue view stayed empty, so benchmarks measured pages lighter than users get.
    apply_due_times_to_open(session, now=now)
    return made


def _generate(session: Session, n: int, *, seed: int, now: datetime | None, batch: int,
              progress: Callable[[int], None] | None) -> int:
    rng = random.Random(seed)  # noqa: S311 - seeded demo data, reproducible on purpose; no secret
    # The satisfaction answers: their own stream, the rest unchanged.
    srng = random.Random(seed * 7919 + 17)  # noqa: S311 - seeded demo data
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now_ts = int(now.timestamp())
    start_ts = now_ts - SPAN_DAYS * DAY
    is_pg = session.get_bind().dialect.name == "postgresql"
    t_dep, t_ben, t_tic, t_evt, t_cnt = (Department.__table__, Beneficiary.__table__, Ticket.__table__,
                                        TicketEvent.__table__, ReferenceCounter.__table__)
    t_sat = SatisfactionResponse.__table__

    def at(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    # -- What is there already ---------------------------------------------------------
    every_department = select(Department.id, Department.code).order_by(Department.id)
    departments = session.execute(every_department.where(Department.active.is_(True))).all()
    if not departments:
        departments = session.execute(every_department).all()
    created_departments = False
    if not departments:
        next_dep = _max_id(session, t_dep) + 1
        session.execute(insert(t_dep), [
            dict(id=next_dep + i, code=code, name_ar=ar, name_en=en, email=email,
                 phone_ext=ext, active=True, created_at=at(start_ts - 30 * DAY))
            for i, (code, ar, en, email, ext) in enumerate(DEMO_DEPARTMENTS)])
        departments = session.execute(every_department).all()  # (there were none: these are the new ones)
        created_departments = True
    dep_ids = [d for d, _ in departments]
    dep_by_code = {(c or "").upper(): d for d, c in departments}

    active_users = set(session.scalars(select(User.id).where(User.active.is_(True))))
    users = sorted(active_users)
    staff = sorted(set(session.scalars(select(UserRole.user_id).where(UserRole.role == Role.STAFF.value)))
                   & active_users)
    focal_by_dep: dict[int, list[int]] = {}
    for dep, user in session.execute(
            select(DepartmentMember.department_id, DepartmentMember.user_id)
            .order_by(DepartmentMember.department_id, DepartmentMember.user_id)):
        if user in active_users:
            focal_by_dep.setdefault(dep, []).append(user)
    staff_set = set(staff)
    intake_users = staff or users  # who records tickets at the desk

    counters = dict(session.execute(select(ReferenceCounter.hijri_year, ReferenceCounter.last)).all())
    counter_rows = set(counters)
    # A reference already issued beyond its counter (counter lost, data copied in) is never reused.
    ref_year = func.substr(Ticket.reference, literal_column("3"), literal_column("4"))
    used = session.execute(
        select(ref_year, func.max(cast(func.substr(Ticket.reference, literal_column("8")), Integer)))
        .where(Ticket.reference.like("_-____-%")).group_by(ref_year)).all()
    for year, top in used:
        if year and str(year).isdigit() and top:
            counters[int(year)] = max(counters.get(int(year), 0), int(top))

    taken_ids = set(session.scalars(select(Beneficiary.national_id).where(Beneficiary.national_id.is_not(None))))
    next_ben = _max_id(session, t_ben) + 1
    next_tic = _max_id(session, t_tic) + 1
    next_evt = _max_id(session, t_evt) + 1
    next_sat = _max_id(session, t_sat) + 1

    subjects_ar = _expand(SUBJECTS_AR, AID_AR, PLACE_AR)
    subjects_en = _expand(SUBJECTS_EN, AID_EN, ["reception"])

    # -- When: sorted creation times, more towards the present, mostly in working hours --
    a = 1.2  # density grows linearly: the newest day has 1 + a times the tickets of the oldest
    times: list[int] = []
    for _ in range(n):
        while True:
            u = rng.random()
            x = ((1 + 2 * a * u * (1 + a / 2)) ** 0.5 - 1) / a
            day = start_ts // DAY + min(SPAN_DAYS, int(x * (SPAN_DAYS + 1)))
            weekday = (day + 3) % 7  # 0 = Monday … 4 = Friday, 5 = Saturday (1970-01-01 was a Thursday)
            if weekday in (4, 5) and rng.random() < 0.8:
                continue  # the weekend: Friday and Saturday
            if rng.random() < 0.78:  # 08:00–16:00 Riyadh
                ts = day * DAY + 5 * HOUR + rng.randrange(8 * HOUR)
            else:
                ts = day * DAY + rng.randrange(DAY)
            if start_ts <= ts < now_ts:
                break
        times.append(ts)
    times.sort()

    def off_hours(ts: int) -> bool:
        local = ts + RIYADH
        wd = (local // DAY + 3) % 7
        return wd in (4, 5) or not (8 * HOUR <= local % DAY < 16 * HOUR)

    # Every kind and channel shows up at least once, at evenly spread places.
    force_channel = {int((j + 0.5) * n / len(Channel)): c.value for j, c in enumerate(Channel)}
    force_kind = {int((j + 0.25) * n / len(Kind)): k.value for j, k in enumerate(Kind)}

    # -- Beneficiaries: about one for every three tickets ---------------------------------
    nb = max(1, n // 3)
    ben_name: list[str] = []
    ben_english = bytearray(nb)
    ben_has_id = bytearray(nb)
    ben_email: list[str | None] = []
    rows: list[dict] = []
    for j in range(nb):
        resident = rng.random() < 0.18
        first_ar, first_en = rng.choice(FEMALE if rng.random() < 0.55 else MALE)
        father_ar, father_en = rng.choice(MALE)
        fam_ar, fam_en = rng.choice(RESIDENT_FAMILIES if resident else FAMILIES)
        english = rng.random() < 0.15
        if rng.random() < 0.25:
            grand_ar, grand_en = rng.choice(MALE)
            name_ar = f"{first_ar} {father_ar} {grand_ar} {fam_ar}"
            name_en = f"{first_en} {father_en} {grand_en} {fam_en}"
        else:
            name_ar, name_en = f"{first_ar} {father_ar} {fam_ar}", f"{first_en} {father_en} {fam_en}"
        name = name_en if english else name_ar
        national_id = None
        if rng.random() < 0.8:
            first = "2" if resident else "1"
            national_id = _luhn_id(rng, first)
            while national_id in taken_ids:
                national_id = _luhn_id(rng, first)
            taken_ids.add(national_id)
            ben_has_id[j] = 1
        phone = None
        if rng.random() < 0.96:
            phone = "+9665" + rng.choice(MOBILE_PREFIX) + "".join(rng.choice("0123456789") for _ in range(7))
        email = None
        if rng.random() < 0.25:
            email = (f"{first_en.lower()}.{fam_en.lower().replace('al-', '')}{rng.randrange(1, 999)}"
                     f"@{rng.choice(EMAIL_DOMAINS)}")
        city_ar, city_en = CITIES(rng)
        created = times[min(n - 1, -(-j * n // nb))] - rng.randrange(60, 3 * HOUR)
        ben_name.append(name)
        ben_english[j] = english
        ben_email.append(email)
        rows.append(dict(
            id=next_ben + j, name=name, national_id=national_id, phone=phone, email=email,
            city=city_en if english else city_ar, search_name=normalize_search(name),
            created_at=at(max(start_ts - DAY, created)),
            created_by_id=rng.choice(intake_users) if intake_users else None,
        ))
        if len(rows) >= batch:
            _insert(session, t_ben, rows)
            rows = []
    if rows:
        _insert(session, t_ben, rows)
    _bump_sequences(session, is_pg, ["beneficiaries"] + (["departments"] if created_departments else []))
    commit(session)

    # -- Tickets and timelines, batch by batch -------------------------------------------
    hijri_cache: dict[tuple[int, int], int] = {}
    ticket_id = next_tic
    event_id = next_evt
    done = 0
    for lo in range(0, n, batch):
        tickets: list[dict] = []
        events: list[dict] = []
        answers: list[dict] = []
        years_touched: set[int] = set()
        for i in range(lo, min(n, lo + batch)):
            t0 = times[i]
            created_at = at(t0)
            key = (t0 // DAY, (t0 + RIYADH) // DAY)
            hy = hijri_cache.get(key)
            if hy is None:
                hy = hijri_cache[key] = hijri_year(created_at)

            # What came in, and how.
            if i in force_channel:
                channel = force_channel[i]
            else:
                channel = CHANNELS_OFF_HOURS(rng) if off_hours(t0) else CHANNELS(rng)
            if i in force_kind:
                kind = force_kind[i]
            else:
                kind = (KINDS_BY_CHANNEL.get(channel) or KINDS)(rng)
            detail = None
            if channel == C_SOCIAL:
                detail = PLATFORMS(rng)
            elif channel == C_BRANCH:
                detail = rng.choice(BRANCHES)

            # Who.
            anonymous = (channel == C_WEBSITE and kind in MAY_BE_ANONYMOUS and rng.random() < 0.35)
            b = None
            if not anonymous and (kind in NEEDS_BENEFICIARY or rng.random() < 0.75):
                hi = min(nb - 1, i * nb // n)
                b = hi if rng.random() < 0.4 else rng.randint(0, hi)
                if kind in NEEDS_NATIONAL_ID and not ben_has_id[b]:
                    for _ in range(8):
                        b = rng.randint(0, hi)
                        if ben_has_id[b]:
                            break
            b_name = ben_name[b] if b is not None else ""
            english = (rng.random() < 0.7) if (b is not None and ben_english[b]) else (rng.random() < 0.13)

            # What.
            if english:
                subject, code = rng.choice(rng.choice(subjects_en[kind]))
                k = 1 if rng.random() < 0.45 else 2
                opener = rng.choice(OPENERS_EN)
                parts = [*rng.sample(BODY_EN[kind], k), rng.choice(DETAILS_EN), rng.choice(CLOSERS_EN)]
            else:
                subject, code = rng.choice(rng.choice(subjects_ar[kind]))
                k = 1 if rng.random() < 0.45 else 2
                opener = rng.choice(OPENERS_AR)
                parts = [*rng.sample(BODY_AR[kind], k), rng.choice(DETAILS_AR), rng.choice(CLOSERS_AR)]
            body = " ".join(p for p in parts if p).format(
                num=rng.randrange(1000, 99999), small=rng.randint(2, 9), district=rng.choice(DISTRICTS_AR))
            if opener:
                body = opener + "\n" + body

            # Where it goes and who handles it.
            department = None
            if rng.random() < 0.85:
                department = dep_by_code.get(code) if (code and rng.random() < 0.8) else None
                department = department or rng.choice(dep_ids)
            assignee = None
            if department is not None and department in focal_by_dep and rng.random() < 0.6:
                assignee = rng.choice(focal_by_dep[department])
            creator = None if channel in (C_WEBSITE, C_TAWASUL) or not intake_users \
                else rng.choice(intake_users)
            desk_user: int | None
            if creator is not None and creator in staff_set:
                desk_user = creator
            else:
                desk_user = rng.choice(staff) if staff else creator
            handler = assignee or desk_user
            priority = PRIORITIES(rng)
            if kind == K_THANKS:
                priority = int(Priority.LOW) if rng.random() < 0.6 else int(Priority.NORMAL)

            # Where it is now: old tickets are mostly done; recent ones still open.
            age = (now_ts - t0) / DAY
            p_open = 0.92 if age < 2 else 0.75 if age < 7 else 0.5 if age < 30 else 0.25 if age < 120 else 0.09
            if kind == K_THANKS:
                p_open /= 3
            if rng.random() < p_open:
                r = rng.random()
                if age < 2:
                    final = S_NEW if r < 0.55 else S_OPEN if r < 0.9 else S_WAITING
                else:
                    final = S_NEW if r < 0.15 else S_OPEN if r < 0.7 else S_WAITING
            else:
                final = S_RESOLVED if rng.random() < (0.5 if age < 30 else 0.12) else S_CLOSED
            if kind == K_SUPPORT and final == S_OPEN and rng.random() < 0.5:
                final = S_AWAITING  # referred to the research committee, no decision yet

            # The timeline, as steps (kind, old, new, body, public, bumps, actor, gap in seconds).
            steps: list[tuple] = []
            ask, note, answer, thanks_reply, action = (
                (ASK_EN, NOTES_EN, ANSWER_EN, THANKS_REPLY_EN, ACTION_EN) if english
                else (ASK_AR, NOTES_AR, ANSWER_AR, THANKS_REPLY_AR, ACTION_AR))
            verified_by = verified_ts = None
            attested = False
            if staff and (kind in NEEDS_NATIONAL_ID or (kind in (K_COMPLAINT, K_DISPUTE)
                                                       and b is not None and rng.random() < 0.12)):
                verified_by = desk_user
                gap = 0 if creator == verified_by else rng.randrange(10 * 60, DAY)
                steps.append((E_VERIFIED, None, None, None, False, False, verified_by, gap))
                if kind in NEEDS_NATIONAL_ID or rng.random() < 0.5:
                    attested = True
                    steps.append((E_ATTESTED, None, None, None, False, False, verified_by, 0))
            if department is not None:
                gap = 0 if rng.random() < 0.5 else rng.randrange(5 * 60, 8 * HOUR)
                steps.append((E_ROUTED, None, str(department), None, False, True, desk_user, gap))
            if assignee is not None:
                actor = assignee if rng.random() < 0.5 else desk_user
                steps.append((E_ASSIGNEE, None, str(assignee), None, False, True, actor,
                              rng.randrange(10 * 60, 2 * DAY)))
            if final != S_NEW:
                if kind == K_THANKS and final in (S_RESOLVED, S_CLOSED) and rng.random() < 0.8:
                    steps.append((E_STATUS, S_NEW, S_OPEN, None, False, True, handler, rng.randrange(HOUR, 2 * DAY)))
                    steps.append((E_REPLY, None, None, rng.choice(thanks_reply), True, True, handler,
                                  rng.randrange(60, HOUR)))
                    steps.append((E_RESOLVED, S_OPEN, S_RESOLVED, rng.choice(action), False, True, handler,
                                  rng.randrange(60, HOUR)))
                    if final == S_CLOSED:
                        steps.append((E_STATUS, S_RESOLVED, S_CLOSED, None, False, True, desk_user or handler,
                                      rng.randrange(DAY, 10 * DAY)))
                else:
                    direct_close = final == S_CLOSED and rng.random() < 0.05  # duplicates, spam
                    if direct_close:
                        steps.append((E_NOTE, None, None, rng.choice(note), False, False, handler,
                                      rng.randrange(HOUR, DAY)))
                        # Closed unresolved: intake staff do that, never a focal point (desk.tickets.service).
                        steps.append((E_STATUS, S_NEW, S_CLOSED, None, False, True, desk_user or handler,
                                      rng.randrange(60, HOUR)))
                    else:
                        steps.append((E_STATUS, S_NEW, S_OPEN, None, False, True, handler,
                                      rng.randrange(HOUR, 3 * DAY)))
                        if rng.random() < 0.2:
                            steps.append((E_NOTE, None, None, rng.choice(note), False, False, handler,
                                          rng.randrange(10 * 60, 2 * DAY)))
                        waited = final == S_WAITING or (final in (S_RESOLVED, S_CLOSED) and rng.random() < 0.15)
                        if waited:
                            steps.append((E_REPLY, None, None, rng.choice(ask), True, True, handler,
                                          rng.randrange(HOUR, 2 * DAY)))
                            steps.append((E_STATUS, S_OPEN, S_WAITING, None, False, True, handler,
                                          rng.randrange(0, 10 * 60)))
                            if final != S_WAITING:
                                steps.append((E_STATUS, S_WAITING, S_OPEN, None, False, True, handler,
                                              rng.randrange(DAY, 7 * DAY)))
                        if final == S_AWAITING:
                            steps.append((E_COMMITTEE, S_OPEN, S_AWAITING, None, False, True, handler,
                                          rng.randrange(10 * 60, DAY)))
                        if final in (S_RESOLVED, S_CLOSED):
                            long = 14 * DAY if kind in NEEDS_NATIONAL_ID else 5 * DAY  # the research committee
                            if rng.random() < 0.88:
                                steps.append((E_REPLY, None, None, rng.choice(answer), True, True, handler,
                                              rng.randrange(HOUR, long)))
                                gap = rng.randrange(0, HOUR)
                            else:
                                gap = rng.randrange(HOUR, long)
                            # Closed straight from open by intake staff (never resolved: resolved_at stays
                            # None, no action taken), or resolved first.
                            straight = final == S_CLOSED and rng.random() < 0.65
                            if straight:
                                steps.append((E_STATUS, S_OPEN, S_CLOSED, None, False, True, desk_user or handler, gap))
                            else:
                                steps.append((E_RESOLVED, S_OPEN, S_RESOLVED, rng.choice(action), False, True,
                                              handler, gap))
                            if final == S_CLOSED and not straight:
                                steps.append((E_STATUS, S_RESOLVED, S_CLOSED, None, False, True, desk_user or handler,
                                              rng.randrange(DAY, 10 * DAY)))
            elif rng.random() < 0.2:
                steps.append((E_NOTE, None, None, rng.choice(note), False, False, handler, rng.randrange(10 * 60, DAY)))

            # Squeeze the timeline into the time since creation when it would run past now.
            total = sum(s[7] for s in steps)
            room = now_ts - t0
            scale = 1.0 if total <= room else max(0, room) * (0.3 + 0.65 * rng.random()) / total

            years_touched.add(hy)
            seq = counters.get(hy, 0) + 1
            counters[hy] = seq
            reference = format_reference(kind, hy, seq)
            tid = ticket_id
            ticket_id += 1

            version = 1
            events.append(dict(id=event_id, ticket_id=tid, actor_id=creator, created_at=created_at, kind=E_CREATED,
                               old_value=None, new_value=S_NEW, body=None, public=False, version=1))
            event_id += 1
            cum = 0
            last_ts = t0
            resolved_ts = closed_ts = first_reply_ts = action_taken = None
            for ekind, old, new, ebody, public, bumps, actor, gap in steps:
                cum += gap
                ts = t0 + int(cum * scale)
                if bumps:
                    version += 1
                if ekind == E_RESOLVED:
                    resolved_ts, action_taken = ts, ebody
                elif ekind == E_STATUS:
                    if new == S_CLOSED:
                        closed_ts = ts  # resolved_ts only if it was resolved first
                elif ekind == E_REPLY and first_reply_ts is None:
                    first_reply_ts = ts
                elif ekind == E_VERIFIED:
                    verified_ts = ts
                events.append(dict(id=event_id, ticket_id=tid, actor_id=actor, created_at=at(ts), kind=ekind,
                                   old_value=old, new_value=new, body=ebody, public=public, version=version))
                event_id += 1
                last_ts = ts

            meta: dict = {}
            if channel == C_LETTER:
                meta = {"letter_no": f"{hy}/{rng.randrange(1, 9999):04d}"}
            elif channel == C_EMAIL:
                sender = ben_email[b] if b is not None else None
                meta = {"from": sender or f"user{rng.randrange(100, 99999)}@{rng.choice(EMAIL_DOMAINS)}"}

            due_ts = None
            if resolved_ts is not None or closed_ts is not None:  # done: the target it had (open ones: generate())
                due_ts = t0 + TARGET_DAYS[kind] * DAY
            if resolved_ts is not None and srng.random() < SATISFACTION_SHARE:
                rating = RATINGS(srng)
                answered = min(now_ts - 60, resolved_ts + srng.randrange(HOUR, 5 * DAY))
                comment = None
                if srng.random() < 0.25:
                    comment = srng.choice(COMMENTS_EN if english else COMMENTS_AR)
                answers.append(dict(
                    id=next_sat, ticket_id=tid, rating=rating, solved=srng.random() < (0.9 if rating >= 4 else 0.35),
                    comment=comment, source="staff" if srng.random() < 0.3 else "beneficiary", recorded_by_id=None,
                    department_id=department, channel=channel, kind=kind, created_at=at(max(answered, resolved_ts)),
                    updated_at=at(max(answered, resolved_ts))))
                next_sat += 1

            tickets.append(dict(
                id=tid, reference=reference, kind=kind, channel=channel, channel_detail=detail, status=final,
                priority=priority, subject=subject, body=body,
                search_text=ticket_search_text(reference, subject, body, b_name),
                beneficiary_id=None if b is None else next_ben + b, anonymous=anonymous,
                department_id=department, assignee_id=assignee, created_by_id=creator,
                created_at=created_at, updated_at=at(last_ts), version=version,
                verified_by_id=verified_by, verified_at=None if verified_ts is None else at(verified_ts),
                attested=attested, attested_at=None if not attested or verified_ts is None else at(verified_ts),
                due_at=None if due_ts is None else at(due_ts), first_response_at=None if first_reply_ts is None else at(first_reply_ts),
                resolved_at=None if resolved_ts is None else at(resolved_ts), action_taken=action_taken,
                closed_at=None if closed_ts is None else at(closed_ts), meta=meta,
            ))

        _insert(session, t_tic, tickets)
        _insert(session, t_evt, events)
        if answers:
            _insert(session, t_sat, answers)
        for year in sorted(years_touched):
            if year in counter_rows:
                session.execute(update(t_cnt).where(t_cnt.c.hijri_year == year).values(last=counters[year]))
            else:
                session.execute(insert(t_cnt).values(hijri_year=year, last=counters[year]))
                counter_rows.add(year)
        _bump_sequences(session, is_pg, ["tickets", "ticket_events", "satisfaction_responses"])
        commit(session)
        done += len(tickets)
        if progress is not None:
            progress(done)
    return done


def _insert(session: Session, table: Table, rows: list[dict]) -> None:
    """Rows (dicts with the same keys) into ``table``: on PostgreSQL by one COPY, on SQLite by
    the driver's own ``executemany`` of one prepared INSERT. psycopg runs an ``executemany`` as
    one INSERT statement per row; COPY takes the rows as one stream, with a fraction of the work
    on either side. On SQLite the statement was already prepared once, but SQLAlchemy built and
    processed every row's parameters in Python for as long as sqlite3 took to insert them. Either
    way the values go through the columns' own bind processing (UTC datetimes, JSON) as in an
    INSERT, and a column left out gets its scalar default as an INSERT would give it."""
    if not rows:
        return
    given = list(rows[0])
    defaults = {}
    for column in table.columns:
        if column.key in rows[0] or column.default is None:
            continue
        if not (isinstance(column.default, ColumnDefault) and column.default.is_scalar):  # per row: give it
            raise ValueError(f"{table.name}.{column.key}: no value given and its default is not a constant")
        defaults[column.key] = column.default.arg
    dialect = session.get_bind().dialect
    if dialect.name not in ("postgresql", "sqlite"):
        session.execute(insert(table), rows)
        return
    columns = [table.c[key] for key in (*given, *defaults)]
    processors = [(i, p) for i, p in enumerate(c.type.dialect_impl(dialect).bind_processor(dialect)
                                               for c in columns) if p is not None]
    constant = tuple(defaults.values())

    def values() -> Iterator[list]:
        for row in rows:
            out = [row[key] for key in given]
            out += constant
            for i, process in processors:
                out[i] = process(out[i])
            yield out

    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.format_column(c) for c in columns)
    raw: Any = session.connection().connection.driver_connection  # the DBAPI connection, in this transaction
    if dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({marks})"  # noqa: S608 - names from the models
        cursor = raw.cursor()
        try:
            cursor.executemany(statement, values())
        finally:
            cursor.close()
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN") as copy:
        for row_values in values():
            copy.write_row(row_values)


def _bump_sequences(session: Session, is_pg: bool, tables: list[str]) -> None:
    """PostgreSQL: explicit ids leave the serial sequences behind; move them past the new rows."""
    if not is_pg:
        return
    for table in tables:  # fixed table names, never user input
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - table names fixed in code
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
