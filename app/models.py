"""Import every feature's models so the metadata is complete (Alembic, relationships by class name)."""
from app.api.models import ApiToken  # noqa: F401
from app.auth.models import AuditEntry, Organiser  # noqa: F401
from app.contests.models import Attempt, Contest, Correction, Participant, Question, QuestionBank, Round  # noqa: F401
from app.documents.models import DocumentSettings  # noqa: F401
from app.jobs import Job  # noqa: F401
from app.organiser.aggregates import DossierVolume, FoldState, ResponsePack  # noqa: F401
from app.organiser.cells import ResponseCell, ResponseDayCount  # noqa: F401
from app.surveys.models import InstrumentVersion, SurveyResponse  # noqa: F401
from app.units.models import Counter, ServiceField, Unit  # noqa: F401
from app.feedback.models import (  # noqa: F401
    AnswerTemplate, Feedback, FeedbackAnswer, FeedbackAttachment, FeedbackDeadline, FeedbackTransition, Holiday,
    MailMessage, SenderIdentity,
)
from app.portal.models import PortalSettings, PublishedResult  # noqa: F401
