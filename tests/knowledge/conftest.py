"""Fixtures of the knowledge tests: the portal fixtures of tests/service, and a valid practice form."""

from tests.service.conftest import app_factory, server_factory  # noqa: F401 - fixtures

# A practice as a data office fills the form in. It is a TEST record (said in its title and summary), never
# published outside a test's temporary data folder.
TEST_FORM = {
    "title_es": "Mediación escolar de prueba (registro de prueba)",
    "title_en": "Test school mediation (test record)",
    "summary_es": "Registro de prueba de la suite de pruebas: mediación entre pares en escuelas para reducir peleas.",
    "summary_en": "Test-suite record: peer mediation in schools to reduce fights.",
    "city": "Kingston", "scope": "local", "iccs_codes": "0201",
    "topics": ["school_violence", "youth_violence"], "prevention_level": ["primary"], "approach": ["social"],
    "target_populations": ["youth"], "setting": ["school"], "languages": ["es", "en"],
    "line_of_action": "prevention", "start_year": "2015", "design": "qed", "sms_level": "3",
    "rating_body": "sms", "rating": "3 reduction", "rating_url": "https://example.org/test-evaluation",
    "study_authors": "Test A; Test B", "study_year": "2018", "study_title": "Test evaluation of school mediation",
    "study_journal": "Test journal", "study_url": "https://example.org/test-evaluation",
    "finding_en": "Test finding.", "finding_es": "Resultado de prueba.",
    "unverified": ["end_year", "implementation.materials", "implementation.cost", "implementation.contacts"],
}
