"""The registry's code lists mapped to schema.org terms and to terms of our vocabulary.

Values are compact IRIs as they appear in JSON-LD under our context: a bare name is a
schema.org term (``@vocab`` is ``https://schema.org/``), ``tp:`` names a term of ours.
vocab/MAPPING.md gives the reason for each choice.
"""

from __future__ import annotations

from collections.abc import Mapping

# The study types schema.org distinguishes; expanded access is a study but no trial.
STUDY_TYPES: Mapping[str, str] = {
    "INTERVENTIONAL": "MedicalTrial",
    "OBSERVATIONAL": "MedicalObservationalStudy",
    "EXPANDED_ACCESS": "MedicalStudy",
}
DEFAULT_STUDY_TYPE = "MedicalStudy"

# The registry's 14 overall (and per-site) statuses; schema.org has 8 of them.
STATUSES: Mapping[str, str] = {
    "ACTIVE_NOT_RECRUITING": "ActiveNotRecruiting",
    "COMPLETED": "Completed",
    "ENROLLING_BY_INVITATION": "EnrollingByInvitation",
    "NOT_YET_RECRUITING": "NotYetRecruiting",
    "RECRUITING": "Recruiting",
    "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated",
    "WITHDRAWN": "Withdrawn",
    "AVAILABLE": "tp:Available",
    "NO_LONGER_AVAILABLE": "tp:NoLongerAvailable",
    "TEMPORARILY_NOT_AVAILABLE": "tp:TemporarilyNotAvailable",
    "APPROVED_FOR_MARKETING": "tp:ApprovedForMarketing",
    "WITHHELD": "tp:Withheld",
    "UNKNOWN": "tp:UnknownStatus",
}

PHASES: Mapping[str, str] = {
    "EARLY_PHASE1": "tp:EarlyPhase1",
    "PHASE1": "tp:Phase1",
    "PHASE2": "tp:Phase2",
    "PHASE3": "tp:Phase3",
    "PHASE4": "tp:Phase4",
    "NA": "tp:PhaseNotApplicable",
}

# schema:trialDesign members (ours where schema.org has none), from the design module.
ALLOCATIONS: Mapping[str, str] = {
    "RANDOMIZED": "RandomizedTrial",
    "NON_RANDOMIZED": "tp:NonRandomizedTrial",
}
# Quadruple masking hides the arm from everyone triple masking does, and more.
MASKINGS: Mapping[str, tuple[str, ...]] = {
    "NONE": ("OpenTrial",),
    "SINGLE": ("SingleBlindedTrial",),
    "DOUBLE": ("DoubleBlindedTrial",),
    "TRIPLE": ("TripleBlindedTrial",),
    "QUADRUPLE": ("TripleBlindedTrial", "tp:QuadrupleBlindedTrial"),
}
INTERVENTION_MODELS: Mapping[str, str] = {
    "SINGLE_GROUP": "tp:SingleGroupAssignment",
    "PARALLEL": "tp:ParallelAssignment",
    "CROSSOVER": "tp:CrossoverAssignment",
    "FACTORIAL": "tp:FactorialAssignment",
    "SEQUENTIAL": "tp:SequentialAssignment",
}

# schema:studyDesign members for observational studies.
OBSERVATIONAL_MODELS: Mapping[str, str] = {
    "COHORT": "CohortStudy",
    "CASE_ONLY": "CaseSeries",
    "CASE_CONTROL": "tp:CaseControlStudy",
    "CASE_CROSSOVER": "tp:CaseCrossoverStudy",
    "ECOLOGIC_OR_COMMUNITY": "tp:EcologicOrCommunityStudy",
    "FAMILY_BASED": "tp:FamilyBasedStudy",
    "DEFINED_POPULATION": "tp:DefinedPopulationStudy",
    "NATURAL_HISTORY": "tp:NaturalHistoryStudy",
}
TIME_PERSPECTIVES: Mapping[str, str] = {
    "CROSS_SECTIONAL": "CrossSectional",
    "PROSPECTIVE": "tp:ProspectiveStudy",
    "RETROSPECTIVE": "tp:RetrospectiveStudy",
}

PURPOSES: Mapping[str, str] = {
    "TREATMENT": "tp:TreatmentPurpose",
    "PREVENTION": "tp:PreventionPurpose",
    "DIAGNOSTIC": "tp:DiagnosticPurpose",
    "ECT": "tp:EducationalCounselingTrainingPurpose",
    "SUPPORTIVE_CARE": "tp:SupportiveCarePurpose",
    "SCREENING": "tp:ScreeningPurpose",
    "HEALTH_SERVICES_RESEARCH": "tp:HealthServicesResearchPurpose",
    "BASIC_SCIENCE": "tp:BasicSciencePurpose",
    "DEVICE_FEASIBILITY": "tp:DeviceFeasibilityPurpose",
    "OTHER": "tp:OtherPurpose",
}

# Intervention type -> (the fitting schema.org class, our term for the registry's own type).
INTERVENTIONS: Mapping[str, tuple[str, str]] = {
    "DRUG": ("Drug", "tp:DrugIntervention"),
    "BIOLOGICAL": ("Drug", "tp:BiologicalIntervention"),
    "DEVICE": ("MedicalDevice", "tp:DeviceIntervention"),
    "PROCEDURE": ("MedicalProcedure", "tp:ProcedureIntervention"),
    "RADIATION": ("RadiationTherapy", "tp:RadiationIntervention"),
    "DIETARY_SUPPLEMENT": ("DietarySupplement", "tp:DietarySupplementIntervention"),
    "DIAGNOSTIC_TEST": ("MedicalTest", "tp:DiagnosticTestIntervention"),
    "BEHAVIORAL": ("MedicalEntity", "tp:BehavioralIntervention"),
    "GENETIC": ("MedicalEntity", "tp:GeneticIntervention"),
    "COMBINATION_PRODUCT": ("MedicalEntity", "tp:CombinationProductIntervention"),
    "OTHER": ("MedicalEntity", "tp:OtherIntervention"),
}
DEFAULT_INTERVENTION = "MedicalEntity"

ARM_TYPES: Mapping[str, str] = {
    "EXPERIMENTAL": "tp:ExperimentalArm",
    "ACTIVE_COMPARATOR": "tp:ActiveComparatorArm",
    "PLACEBO_COMPARATOR": "tp:PlaceboComparatorArm",
    "SHAM_COMPARATOR": "tp:ShamComparatorArm",
    "NO_INTERVENTION": "tp:NoInterventionArm",
    "OTHER": "tp:OtherArm",
}

ACTUAL_OR_ESTIMATED: Mapping[str, str] = {
    "ACTUAL": "tp:Actual",
    "ESTIMATED": "tp:Estimated",
}

# The registry's ``sex`` says who may take part; ALL means either.
SEXES: Mapping[str, tuple[str, ...]] = {
    "ALL": ("Female", "Male"),
    "FEMALE": ("Female",),
    "MALE": ("Male",),
}

# Age units as the registry writes them -> UN/CEFACT common codes (what schema:unitCode takes).
AGE_UNITS: Mapping[str, str] = {
    "year": "ANN",
    "month": "MON",
    "week": "WEE",
    "day": "DAY",
    "hour": "HUR",
    "minute": "MIN",
}


def vocabulary_terms() -> set[str]:
    """Return every ``tp:`` term the tables above can produce."""
    values: list[str] = [
        *STATUSES.values(),
        *PHASES.values(),
        *ALLOCATIONS.values(),
        *(v for many in MASKINGS.values() for v in many),
        *INTERVENTION_MODELS.values(),
        *OBSERVATIONAL_MODELS.values(),
        *TIME_PERSPECTIVES.values(),
        *PURPOSES.values(),
        *(ours for _, ours in INTERVENTIONS.values()),
        *ARM_TYPES.values(),
        *ACTUAL_OR_ESTIMATED.values(),
    ]
    return {v for v in values if v.startswith("tp:")}

