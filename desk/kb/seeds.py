"""The knowledge base's first articles, from the association's policy (seeds/001…, سياسة تنظيم
العلاقة مع المستفيدين): the public ones (the beneficiaries' rights, the complaints policy, a user
guide to the portal, questions and answers) and the staff's library (the tools the policy lists).

``ensure_seed_articles`` adds, published, each one that was never added (by ``seed_key``), and
never touches one that exists: an admin edits or unpublishes them, and running `flask desk
init` or `desk demo` again keeps what they did."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.kb.service import publish_draft, search_text
from desk.models import Audience, KbArticle, KbCategory
from desk.transaction import atomic

CATEGORIES = (
    ("rights", "حقوق المستفيد", "Your rights"),
    ("guides", "أدلة الاستخدام", "User guides"),
    ("faq", "الأسئلة الشائعة", "Questions and answers"),
    ("tools", "الأدوات المتاحة لموظفي علاقات المستفيدين", "The staff's tools"),
)


@dataclass(frozen=True)
class Seed:
    key: str
    category: str
    audience: str
    title_ar: str
    title_en: str
    body_ar: str
    body_en: str


RIGHTS = Seed("rights", "rights", Audience.PUBLIC, "حقوق المستفيد", "The beneficiary's rights", """\
تضع الجمعية السياسات والإجراءات التي تنظم علاقتها بجميع الأطراف من مستفيدين وموردين ومتطوعين وخلافه، بما يكفل حقوق الجمعية وكافة هذه الأطراف.

## من حقوقك
- أن تُستقبل بلباقة واحترام، وأن تُجاب على جميع استفساراتك، وأن تُعطى الوقت الكافي.
- أن تحصل على كافة الخدمات المطلوبة دون عناء ومشقة، من خلال تسهيل الإجراءات.
- أن تحصل على المعلومات بشكل دقيق من خلال عدة قنوات إلكترونية ووسائل اتصال، وأن تُحدَّث هذه المعلومات بشكل دوري.
- أن يكون لكل مجال من مجالات العمل في الجمعية ضابط اتصال يرد على استفساراتك.
- المحافظة على سرية معلوماتك، واحترام خصوصيتك بحفظ بياناتك الشخصية بشكل يضمن سرية المعلومات والمستندات.
- تقييم جودة الخدمة حق من حقوق المستفيد، وهو أداة للتقويم والتطوير لا للعقاب والتشهير.
- تسهيل عمليات التبليغ والسرعة في معالجة الشكاوى، والسعي في حل الخلافات وديًا.
- التعويض عند الإخلال بحقوقك وفق سياسة تعويض أصحاب المصالح: أن يكون الإخلال ناجمًا عن إخفاق الجمعية في الوفاء بالتزاماتها، وأن تكون الجمعية المتسببة مباشرة في الضرر، وأن يثبت الإخلال بإقرار من الجمعية أو بحكم نهائي، ثم التفاوض معك للتوصل إلى آلية للتعويض.

## ومن مسؤوليتك
- تقديم كافة المعلومات المطلوبة، فأنت مسؤول مسؤولية مباشرة عن صحة معلوماتك.
""", """\
The association sets the policies and procedures that govern its relationship with everyone it deals with, beneficiaries, suppliers, volunteers and others, so as to guarantee the rights of the association and of each of them.

## Your rights
- To be received politely and with respect, to have every question answered, and to be given enough time.
- To get every service you need without hardship, through simple procedures.
- To get accurate information through several electronic channels and means of contact, kept up to date.
- A focal point for every area of the association's work, who answers your inquiries.
- The confidentiality of your information and respect for your privacy: your personal data and documents are kept confidential.
- Rating the quality of the service is your right: a tool for improvement, not for punishment or shaming.
- Easy reporting, fast handling of complaints, and amicable settlement of disputes.
- Compensation when your rights are breached, under the stakeholders' compensation policy: the breach came from the association failing its obligations, the association directly caused the harm, the breach is proven by the association's admission or a final ruling, and compensation is then negotiated with you.

## Your responsibility
- To give all the information asked for: you are directly responsible for its accuracy.
""")

COMPLAINTS = Seed("complaints", "rights", Audience.PUBLIC, "سياسة تسوية الشكاوى والخلافات",
                  "The complaints and disputes policy", """\
تهدف السياسة إلى تحديد الخطوات والإجراءات لتسوية الشكاوى أو الخلافات التي قد تنشأ بين الجمعية وأصحاب المصالح.

## كيف تقدم شكواك
- من بوابة المستفيدين: اختر «شكوى»، واكتب موضوعها وتفاصيلها، وأرفق ما لديك من مستندات.
- أو بالحضور الشخصي لمقر الجمعية، أو بالاتصال الهاتفي، أو بالبريد الإلكتروني، أو عبر وسائل التواصل الاجتماعي، أو نظام تواصل.
- يمكنك تقديم الشكوى دون ذكر اسمك من الموقع الإلكتروني، واحتفظ حينها بالرابط الخاص لمتابعتها.

## خطوات المعالجة
١. تُسجَّل الشكوى ويصلك رقم مرجعي.
٢. تُحال إلى الإدارة المختصة، ويتابعها ضابط الاتصال لديها حتى حلها.
٣. تسعى الجمعية إلى حل الخلاف وديًا بما يحفظ حقوق الجمعية وأصحاب المصالح.
٤. يصلك الرد على البوابة وبالوسيلة التي اخترتها، ويمكنك الرد عليه.
٥. بعد الحل يُطلب منك تقييم الخدمة.

## المدد
- نلتزم بالسرعة في معالجة الشكاوى، ويظهر لك التاريخ المتوقع للرد عند تقديمها وفي صفحة المتابعة.
- طلبات الدعم تُرفع للجنة البحث لدراستها والرد عليها بالقبول أو الرفض خلال مدة لا تقل عن أسبوعين.
""", """\
The policy sets the steps and procedures for settling complaints or disputes that may arise between the association and its stakeholders.

## How to submit a complaint
- On the beneficiary portal: choose "Complaint", write its subject and details, and attach any documents you have.
- Or in person at the association, by phone, by email, on social media, or through the Tawasul system.
- You may complain without your name from the website: keep the private link then, to follow it.

## The handling steps
1. The complaint is registered and you get a reference number.
2. It goes to the competent department, whose focal point follows it until it is resolved.
3. The association seeks an amicable settlement that preserves the rights of the association and of its stakeholders.
4. The reply reaches you on the portal and by the means you chose, and you can answer it.
5. Once it is resolved you are asked to rate the service.

## Time limits
- We handle complaints fast; the expected date of the answer is shown when you submit and on the tracking page.
- Support requests go to the research committee, which answers accept or reject within no less than two weeks.
""")

GUIDE = Seed("portal-guide", "guides", Audience.PUBLIC, "دليل استخدام بوابة المستفيدين", "Using the beneficiary portal", """\
## تقديم طلب
١. افتح «إرسال طلب» واختر نوع الطلب: شكوى، أو استفسار، أو مقترح، أو طلب دعم.
٢. اكتب اسمك ورقم جوالك، أو أرسل الطلب دون اسمك.
٣. اكتب موضوع الطلب وتفاصيله، وأرفق المستندات إن وجدت.
٤. لطلب الدعم: أقرّ بصحة البيانات، فأنت مسؤول مسؤولية مباشرة عن صحة معلوماتك.
٥. اضغط «إرسال»، واحتفظ بالرقم المرجعي والرابط الخاص.

## متابعة الطلب
- افتح الرابط الخاص الذي وصلك، أو اختر «متابعة طلبي» واكتب الرقم المرجعي ورقم الجوال.
- ترى حالة طلبك والتاريخ المتوقع وردود الجمعية، ويمكنك الرد وإرفاق مستندات.
""", """\
## Sending a request
1. Open "Send a request" and choose its kind: complaint, inquiry, suggestion or support request.
2. Write your name and mobile number, or send it without your name.
3. Write the subject and the details, and attach documents if you have any.
4. For a support request: confirm the data is correct; you are directly responsible for its accuracy.
5. Press "Send", and keep the reference number and the private link.

## Following your request
- Open the private link you received, or choose "Follow my request" and type the reference number and your mobile number.
- You see its status, the expected date and the association's replies, and you can answer and attach documents.
""")

FAQ = Seed("faq", "faq", Audience.PUBLIC, "أسئلة شائعة", "Frequently asked questions", """\
## متى يصلني الرد على طلب الدعم؟
يُرفع طلبك للجنة البحث لدراسته والرد عليه بشأن قبوله أو رفضه خلال مدة لا تقل عن أسبوعين.

## هل أحتاج إلى حساب لتقديم طلب؟
لا. يكفي رقم جوالك، أو الرابط الخاص إن أرسلت الطلب دون اسمك.

## فقدت الرقم المرجعي، ماذا أفعل؟
تواصل مع الجمعية بالهاتف أو بالحضور الشخصي، وسيساعدك موظف علاقات المستفيدين.

## الإجراءات غير واضحة لي، بمن أتصل؟
يحيلك الموظف إلى مسؤول البحث الاجتماعي هاتفيًا للإجابة على تساؤلاتك وإيضاح الجوانب التنظيمية والقانونية.

## هل تبقى بياناتي سرية؟
نعم، تحافظ الجمعية على سرية المعلومات وتحفظ بياناتك الشخصية بما يضمن سرية المعلومات والمستندات.
""", """\
## When will I hear about my support request?
It goes to the research committee, which studies it and answers accept or reject within no less than two weeks.

## Do I need an account to send a request?
No. Your mobile number is enough, or the private link if you sent it without your name.

## I lost my reference number: what do I do?
Contact the association by phone or in person: a beneficiary relations employee will help you.

## The procedures are unclear to me: whom do I call?
The employee refers you by phone to the social research officer, who answers your questions and explains the organisational and legal aspects.

## Is my data kept confidential?
Yes. The association keeps information confidential and protects your personal data and documents.
""")


def _tool(key: str, title_ar: str, title_en: str, body_ar: str, body_en: str) -> Seed:
    return Seed(key, "tools", Audience.INTERNAL, title_ar, title_en, body_ar, body_en)


_ATTACH_AR = "أرفق المسؤول نسخة {what} المعتمدة بهذه المقالة، ويُرجع إليها عند استقبال المستفيدين."
_ATTACH_EN = "The approved copy of {what} is attached to this article by its keeper; use it when receiving beneficiaries."

TOOLS = (
    _tool("bylaws", "اللائحة الأساسية للجمعية", "The association's bylaws",
          "أولى الأدوات المتاحة لموظفي علاقات المستفيدين للتواصل مع المستفيدين.\n\n"
          + _ATTACH_AR.format(what="اللائحة الأساسية"),
          "The first of the tools the beneficiary relations staff have at hand.\n\n"
          + _ATTACH_EN.format(what="the bylaws")),
    _tool("beneficiaries-regulation", "لائحة المستفيدين", "The beneficiaries' regulation",
          "تحدد فئات المستفيدين وشروط استحقاقهم للخدمات.\n\n" + _ATTACH_AR.format(what="لائحة المستفيدين"),
          "Who the beneficiaries are and what makes them eligible for the services.\n\n"
          + _ATTACH_EN.format(what="the beneficiaries' regulation")),
    _tool("acceptance-steps", "خطوات قبول المستفيدين", "The acceptance steps", """\
ويتم التعامل مع المستفيد على مختلف المستويات لإنهاء معاملاته بالتالي:
١. استقبال المستفيد بلباقة واحترام والإجابة على جميع الاستفسارات وإعطاء المراجع الوقت الكافي.
٢. التأكد من تقديم المراجع كافة المعلومات المطلوبة، وعلى الموظف مطابقة البيانات والتأكد من صلاحيتها وقت التقديم.
٣. في حالة عدم وضوح الإجراءات للمستفيد، فعلى الموظف إحالته لمسؤول البحث الاجتماعي هاتفيًا، للإجابة على تساؤلاته وإيضاح الجوانب التنظيمية والقانونية.
٤. التأكيد على صحة البيانات المقدمة من طالب الدعم والتوقيع عليها، وأنه مسؤول مسؤولية مباشرة عن صحة معلوماته.
٥. التوضيح للمستفيد بأن طلبه سيرفع للجنة البحث لدراسة طلبه والرد عليه بشأن قبوله أو رفضه خلال مدة لا تقل عن أسبوعين.
٦. استكمال التسجيل بعد اكتمال جميع المطلوب.
٧. تقديم الخدمة.
""", """\
The beneficiary is dealt with at every level, to complete their business, as follows:
1. Receive the beneficiary politely and with respect, answer every question and give them enough time.
2. Make sure every required piece of information is given; match the data and check it is valid at the time of submission.
3. Where the procedure is unclear to the beneficiary, refer them by phone to the social research officer, who answers their questions and explains the organisational and legal aspects.
4. The applicant confirms the data is correct and signs it; they are directly responsible for its accuracy.
5. Tell the beneficiary the request goes to the research committee, which answers accept or reject within no less than two weeks.
6. Complete the registration once everything requested is complete.
7. Provide the service.
"""),
    _tool("social-research-guide", "دليل خدمات البحث الاجتماعي", "The social research services guide",
          "يحيل الموظف المستفيد إلى مسؤول البحث الاجتماعي عند عدم وضوح الإجراءات له.\n\n"
          + _ATTACH_AR.format(what="دليل خدمات البحث الاجتماعي"),
          "Staff refer a beneficiary to the social research officer when the procedure is unclear to them.\n\n"
          + _ATTACH_EN.format(what="the social research services guide")),
    _tool("support-policy-guide", "دليل سياسة الدعم", "The support policy guide",
          "يُرفع طلب دعم مستفيد للجنة البحث التي ترد بالقبول أو الرفض خلال مدة لا تقل عن أسبوعين.\n\n"
          + _ATTACH_AR.format(what="دليل سياسة الدعم"),
          "A beneficiary support request goes to the research committee, which answers accept or reject within "
          "no less than two weeks.\n\n" + _ATTACH_EN.format(what="the support policy guide")),
)

SEEDS = (RIGHTS, COMPLAINTS, GUIDE, FAQ, *TOOLS)


def ensure_seed_articles(session: Session, actor: str = "cli:init") -> int:
    """Add the categories and articles never added (by key), each published (on the audit trail
    as ``actor``). How many articles were added; commits."""
    added = 0
    with atomic(session):
        by_key: dict[str, KbCategory] = {}
        for position, (key, name_ar, name_en) in enumerate(CATEGORIES, start=1):
            category = session.scalar(select(KbCategory).where(KbCategory.seed_key == key))
            if category is None:
                category = KbCategory(seed_key=key, name_ar=name_ar, name_en=name_en, position=position)
                session.add(category)
                session.flush()
            by_key[key] = category
        for seed in SEEDS:
            if session.scalar(select(KbArticle.id).where(KbArticle.seed_key == seed.key)) is not None:
                continue
            body_ar, body_en = seed.body_ar.strip(), seed.body_en.strip()
            article = KbArticle(seed_key=seed.key, category_id=by_key[seed.category].id, audience=seed.audience,
                                title_ar=seed.title_ar, title_en=seed.title_en, body_ar=body_ar, body_en=body_en,
                                search_text=search_text(seed.title_ar, seed.title_en, body_ar, body_en))
            session.add(article)
            session.flush()
            publish_draft(session, article, actor)
            added += 1
    return added
