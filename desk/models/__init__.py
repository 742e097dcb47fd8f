"""SQLAlchemy models, one module per aggregate."""
from desk.models.accounts import (
    BY_NAME_ONLY,
    Department,
    DepartmentMember,
    PasswordReset,
    Position,
    RecoveryCode,
    Role,
    RoleGrant,
    StaffSession,
    TwoFactorRole,
    User,
    UserRole,
)
from desk.models.appointments import Appointment, AppointmentSlot, AppointmentStatus, Availability
from desk.models.attachments import Attachment
from desk.models.audit import AuditAction, AuditEntry
from desk.models.base import Base, utcnow
from desk.models.beneficiaries import ORGANISATIONS, Beneficiary, RequesterKind, is_organisation
from desk.models.broadcasts import Broadcast, BroadcastGroup, BroadcastOptOut, Purpose
from desk.models.casefile import (
    CHECKLIST_DOCUMENTS,
    AttestationMode,
    BeneficiaryEvent,
    DocumentType,
    KindRequirement,
    RegistrationState,
)
from desk.models.channels import ChannelState, InboundMessage, InboundOutcome
from desk.models.compensation import (
    ClaimOutcome,
    CompensationClaim,
    CompensationCondition,
    ConditionState,
    EvidenceKind,
)
from desk.models.disputes import InterimMeasure, SettlementAttempt, SettlementOutcome
from desk.models.kb import Audience, KbArticle, KbCategory, KbDocument, KbVersion
from desk.models.links import TicketMerge, TicketRelation
from desk.models.mail import QuarantinedMail, QuarantineState
from desk.models.media import MediaJob, MediaStatus
from desk.models.outbox import OutboxMessage, OutboxStatus
from desk.models.portal import Association, PortalCeiling, PrivacyNotice, SatisfactionResponse, SurveySource
from desk.models.privacy import RetentionPeriod, SubjectRequest, SubjectRequestKind, SubjectRequestOutcome
from desk.models.queue import SavedView, ViewScope
from desk.models.replies import SavedReply
from desk.models.routing import Category, RoutingRule
from desk.models.search import SearchWords
from desk.models.sla import Holiday, ServiceTarget, WorkingTime
from desk.models.stats import StatsDuration, StatsRollup, StatsRollupState
from desk.models.submissions import FormSubmission
from desk.models.survey import (
    AnswerState,
    AuxService,
    AuxServiceTap,
    Emergency,
    EmergencyStatus,
    ItemCode,
    Severity,
    Site,
    Survey,
    SurveyAnswer,
    SurveyItem,
    SurveyPhoto,
    SurveyStatus,
    VisitorTap,
)
from desk.models.tags import Tag, TicketTag
from desk.models.tickets import (
    KIND_LETTER,
    OPEN_STATUSES,
    STATUS_EVENTS,
    Channel,
    EventKind,
    Kind,
    Priority,
    ReferenceCounter,
    SocialPlatform,
    Status,
    Ticket,
    TicketEvent,
    format_reference,
)
from desk.models.training import TrainingEntry

__all__ = [
    "Broadcast", "BroadcastGroup", "BroadcastOptOut", "Purpose",
    "Base", "utcnow", "SavedView", "ViewScope", "User", "BY_NAME_ONLY", "UserRole", "Role", "Department", "DepartmentMember",
    "StaffSession", "PasswordReset", "RecoveryCode", "TwoFactorRole", "RoleGrant",
    "Beneficiary", "RequesterKind", "ORGANISATIONS", "is_organisation", "Ticket", "TicketEvent", "ReferenceCounter", "Kind", "KIND_LETTER", "format_reference",
    "Channel", "SocialPlatform", "Status", "OPEN_STATUSES", "STATUS_EVENTS", "Priority", "EventKind",
    "Position", "Category", "RoutingRule", "SearchWords", "OutboxMessage", "OutboxStatus",
    "WorkingTime", "Holiday", "ServiceTarget", "Attachment",
    "CompensationClaim", "CompensationCondition", "ConditionState", "EvidenceKind", "ClaimOutcome",
    "Association", "SatisfactionResponse", "SurveySource", "PrivacyNotice", "PortalCeiling",
    "Site", "SurveyItem", "ItemCode", "Survey", "SurveyStatus", "SurveyAnswer", "AnswerState", "SurveyPhoto",
    "Emergency", "EmergencyStatus", "Severity", "VisitorTap",
    "AuxService", "AuxServiceTap", "TrainingEntry",
    "StatsRollup", "StatsDuration", "StatsRollupState",
    "InboundMessage", "InboundOutcome", "ChannelState", "MediaJob", "MediaStatus", "QuarantinedMail", "QuarantineState",
    "FormSubmission", "AuditAction", "AuditEntry",
    "SubjectRequest", "SubjectRequestKind", "SubjectRequestOutcome", "RetentionPeriod",
    "SettlementAttempt", "SettlementOutcome", "InterimMeasure", "Tag", "TicketTag", "SavedReply",
    "TicketMerge", "TicketRelation", "Audience", "KbArticle", "KbCategory", "KbDocument", "KbVersion",
    "Appointment", "AppointmentSlot", "AppointmentStatus", "Availability",
        "AttestationMode", "DocumentType", "CHECKLIST_DOCUMENTS", "RegistrationState", "KindRequirement",
    "BeneficiaryEvent",
]
