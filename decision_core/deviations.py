"""Where the decision table is contradictory, silent or unimplementable, and the closest safe reading the core
implements; and the parameters each action kind carries. Documentation data: RULES.md prints it
(`python -m cards.rules_doc > decision_core/RULES.md`)."""

from __future__ import annotations

from .precedence import DXA_PRIORITY, LAB_PRIORITY

# (id, topic, what the table says or leaves open, what the core does, why it is the closest safe reading)
DEVIATIONS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "D-C01-peri",
        "Perimenopausal women aged >= 50",
        "C-01 puts them in ADULT50 ('no documented premenopausal status') and in YOUNG ('documented pre- or "
        "perimenopausal').",
        "ADULT50. Premenopausal at >= 50 stays YOUNG.",
        "ISCD allows WHO criteria in the menopausal transition, and the ADULT50 clause is the specific one for >= 50.",
    ),
    (
        "D-C01-sex",
        "Sex other/unknown; menopause recorded for a male",
        "C-01 defines females and males only.",
        "Age decides (>= 50 ADULT50; < 50 YOUNG unless documented postmenopausal). A menopause status on a "
        "male "
        "record is ignored. No 'menopause assumed' flag for other/unknown sex.",
        "Both sexes share the 50-year cut-off, so the path does not depend on sex there.",
    ),
    (
        "D-C01-age",
        "Age < 18 and missing birth date",
        "Age < 18: out of scope. Missing birth date: not covered.",
        "< 18: no cards at all. No birth date: only SAFE-01, SAFE-02, SAFE-03, MON-02, MON-03 and DATA-03 "
        "run, and "
        "DATA-03 names the missing birth date.",
        "Drug-safety alerts must not disappear because a demographic field is missing; classification needs age.",
    ),
    (
        "D-C02-latest",
        "Latest DXA study without any valid diagnostic value",
        "C-02: the latest study is the newest date; C-03 excludes sites.",
        "Classification uses the newest study that has a valid site (for ADULT50: a valid T-score). The "
        "newest "
        "study of any kind is named in DATA-03 and still starts the 12-month DXA floor. ADULT50 DXA with "
        "only "
        "Z-scores: no category, DATA-03.",
        "A forearm-only or heel-only scan must neither erase an earlier diagnostic scan nor trigger a new "
        "DXA "
        "within 12 months.",
    ),
    (
        "D-C03-femur",
        "Proximal femur with region not stated (BoneSite.FEMUR)",
        "Not in C-03.",
        "Valid, labelled 'femur'; ties rank after total hip (LS, FN, TH, femur, R33).",
        "Both candidate regions (neck, total hip) are diagnostic.",
    ),
    (
        "D-C03-prelim",
        "Preliminary DXA values and lab results",
        "Not covered.",
        "Used like final values (the extraction may drop them).",
        "Dropping them would hide an osteoporotic result until finalized; every output is a draft for review.",
    ),
    (
        "D-C04-persist",
        "Persistence 'at ADULT50'",
        "Any earlier valid study at ADULT50 with T <= -2.5.",
        "An earlier study counts when the patient was >= 50 on its date, or is a non-male patient documented "
        "postmenopausal now.",
        "Historical menopause dates are not in the facts; a T-score taken before 50 in a man or an "
        "undocumented "
        "woman was not a WHO-path measurement.",
    ),
    (
        "D-C05-age",
        "Fracture age limits (>= 40 for C-05, >= 50 for treatment rules)",
        "Clinical osteoporosis (C-04) and TX-01 (a)/(b), TX-02 count fractures; C-05 says >= 50 for treatment rules.",
        "Clinical osteoporosis (DX-01 'clinical', TX-01 (a)/(b), TX-02, TX-04a via C-04) uses fractures at "
        ">= 50. "
        "Fractures at 40-49 count for the bone-health context, LAB-01, DATA-01, FRAX 'prior fracture', "
        "RISK-01 and "
        "TX-04a (hip/vertebral). GC-01 counts fragility fractures at any age.",
        "Keeps DX-01 and TX-01 consistent (no 'osteoporosis' card without a treatment card); the ACR <40 "
        "column "
        "needs fractures before 40. A 40-49 fracture still reaches DXA/FRAX through RISK-01/DATA-01.",
    ),
    (
        "D-C05-unknown",
        "Fracture without onset date; duplicate fracture records",
        "Not covered.",
        "No onset date: counts (age unknown), treatment-qualifying when the patient is >= 50 now, never "
        "'recent'. "
        "Same site within 42 days (or both undated) = one fracture (Condition + repair Procedure).",
        "A hip fracture of unknown date in an older adult is a treatment indication; double-counting one "
        "event "
        "would fake 'multiple fractures' (TX-02).",
    ),
    (
        "D-ORDERED",
        "Osteoporosis drug ordered but not given",
        "'Not on current therapy' (TX-01, TX-03, RISK-01); DATA-01 'current or being ordered'.",
        "Ordered = planned record, or an active MedicationRequest for denosumab/zoledronic acid with no "
        "dose on or "
        "after it. Such an order suppresses TX-01, TX-03 and RISK-01 like current therapy (§4 state row), "
        "and it "
        "triggers SAFE-02/SAFE-03 checks. It does not make the patient 'current' for MON-02/MON-03.",
        "Drafting alendronate next to a zoledronic order would duplicate antiresorptives.",
    ),
    (
        "D-C06-dmab",
        "Denosumab details",
        "'Marked stopped'; denosumab on the list without dates.",
        "Marked stopped = no active denosumab record and at least one stopped/completed/on-hold one. "
        "Denosumab "
        "listed without any dose date: DATA-03 (SAFE-01 cannot run), and an active record counts as current "
        "therapy with unknown timing.",
        "On-hold is a stop for rebound purposes; treating an undated active denosumab as current prevents a "
        "second antiresorptive draft.",
    ),
    (
        "D-C06-oral",
        "Oral bisphosphonate periods",
        "Sum of exposure periods, gaps < 90 days merged.",
        "Active without end: until NOW. Stopped/completed without end: only its start day counts. Planned "
        "records "
        "never count as exposure or as given infusions.",
        "Undocumented exposure is not invented; MON-03 then errs towards no holiday prompt, which is harmless.",
    ),
    (
        "D-C07",
        "Glucocorticoid details",
        "gc_dose 'current daily', gc_days 'elapsed plus planned continuous days'.",
        "Systemic = oral/IV/IM or no route recorded; budesonide and inhaled/topical never. gc_dose = sum of "
        "courses "
        "active today, else planned courses, else the most recent course ended <= 30 days ago. gc_days = the "
        "continuous run at >= 2.5 mg/d (gaps <= 30 days merged), elapsed plus planned. Active course "
        "without start "
        "date or without dose: DATA-03 and not qualifying.",
        "A 1 mg/d course followed by 10 days at 5 mg/d is not '>= 2.5 mg/d for 90 days'; tablets often "
        "arrive "
        "without a route, and under-counting hides GIOP risk.",
    ),
    (
        "D-C08",
        "FRAX validity and adjustment",
        "Valid if <= 24 months, on/after latest DXA, untreated, aged 40-90.",
        "Age checked at NOW. Also invalid when the latest DXA is > 24 months old (§6) or the FRAX is a data "
        "issue. "
        "A FRAX with only MOF or only hip may upgrade (at threshold) but never counts as 'below thresholds' "
        "(RISK-01 "
        "asks for a complete one). > 7.5 mg/d with FRAX 'glucocorticoids = no': not adjusted, flagged "
        "'not-applied-gc-input-no'.",
        "A half FRAX cannot show that both probabilities are below threshold; KANIS11 multipliers apply to "
        "a FRAX "
        "run with glucocorticoids = yes.",
    ),
    (
        "D-C08-age",
        "Ages outside FRAX (18-39 on the WHO path, 91 and over)",
        "FRAX valid for ages 40-90; RISK-01 for 40-90.",
        "Outside 40-90 no FRAX is valid or requested: low bone mass gets DX-01, MON-01/DATA-02 and UNIV-01 "
        "but no "
        "RISK-01, TX-01 (d) or TX-03. T <= -2.5 and fractures still trigger TX-01/TX-02. GC-01 at 91+ does "
        "not ask "
        "for FRAX and falls back to the BMD criteria (T > -1.0 alone is 'low').",
        "FRAX cannot be computed outside its domain; the BMD- and fracture-based indications do not need it.",
    ),
    (
        "D-C09",
        "Lab details",
        "Corrected Ca 'if albumin available'; conflicts; canonical units.",
        "Albumin corrects calcium only if drawn within 7 days of it. The core re-checks canonical units and "
        "treats "
        "missing/foreign units as missing (DATA-03). Same-day results differing > 10%: the analyte is "
        "treated as "
        "missing (no fallback to an older value). LAB-01 'creatinine/eGFR' is satisfied by either; the "
        "TX-01 gate "
        "needs an eGFR.",
        "An albumin from months ago does not correct today's calcium; a conflicting newest value makes "
        "older ones "
        "unreliable too.",
    ),
    (
        "D-C10",
        "Risk tier",
        "Order DMAB-LAPSE, VERY-HIGH, HIGH, BELOW, INDETERMINATE, NORMAL.",
        "DMAB-LAPSE only when the dose is overdue (> D + 6 months); HIGH also for clinical osteoporosis; "
        "INDETERMINATE when there is no DXA category or it is stale. Exposed on the Assessment, not on "
        "cards.",
        "'Stopped <= 6 months' is not yet a lapse; no DXA cannot be called NORMAL.",
    ),
    (
        "D-PREC",
        "Reading of §4 'if this fires'",
        "Not specified whether a suppressed winner still suppresses.",
        "Suppression is decided on the raw trigger set. Rule triggers hold only their own conditions; every "
        "'not X' between rules (and the current-therapy state) lives in the §4 table, so each pair is "
        "testable. "
        "RISK-01 and MON-01 do not test DXA staleness themselves: DATA-02 suppresses them.",
        "Never un-suppresses anything (conservative); one place to read and test precedence.",
    ),
    (
        "D-TX01",
        "Alendronate draft gates",
        "eGFR >= 35, 25(OH)D >= 20, Ca >= LLN (12 months), no contraindication, TX-04a not firing.",
        "Also withheld when the medications, conditions or labs domain is incomplete, and re-checked against "
        "current/"
        "ordered therapy, SAFE-01 and TX-02 at the draft. eGFR < 35: the card names denosumab only with "
        "caveats "
        "(calcium-check-first; correct-hypocalcemia-first when Ca < LLN; boxed-warning-ckd-mbd-specialist at "
        "eGFR < 30). Pre-treatment labs are drafted only when the lab domain was fetched.",
        "Unknown allergies or medications must not be read as 'none' (§7.5/7.7/7.8).",
    ),
    (
        "D-TX02",
        "Injurious fall (g)",
        "'If the data exist'.",
        "ConditionConcept 'injurious-fall' with onset within 12 months.",
        "Only coded, dated falls are trustworthy.",
    ),
    (
        "D-TX03",
        "12-month interval 'new risk factor'",
        "Glucocorticoid, aromatase inhibitor, ADT, premature menopause.",
        "Qualifying glucocorticoid exposure, an active aromatase inhibitor/ADT started after the DXA, or a "
        "coded "
        "premature menopause.",
        "Closest coded reading of 'new'.",
    ),
    (
        "D-TX04",
        "Spinal instrumentation",
        "'Planned in the next 12 months'; 04a fracture criterion.",
        "A planned procedure without date counts; a past date does not. 04a by fracture: a C-05 fragility "
        "hip/"
        "vertebral fracture at any population; by HU: CT HU < 97.9 within 12 months. 25-OH D drafted when "
        "missing "
        "(all variants); 04c drafts a DXA.",
        "An active surgical order without date is still upcoming; teriparatide stays limited to osteoporosis (§7.17).",
    ),
    (
        "D-GC01-young",
        "ACR columns for YOUNG patients aged 40-49",
        "ACR22 splits at 40 and uses T-scores and FRAX from 40.",
        "YOUNG patients (premenopausal women, men < 50) always use the < 40 column (fracture, dose, "
        "Z-score). The "
        ">= 40 column applies to ADULT50 patients aged >= 40.",
        "§7.3 forbids T-score categories and FRAX-threshold treatment for YOUNG patients; §7 wins.",
    ),
    (
        "D-GC01-cat",
        "ACR category with partial data",
        "'Not assessable' only without DXA and FRAX; LSC criterion; < 40 '>= 30 mg/d' without duration.",
        ">= 40 with T > -1.0 and no complete valid FRAX: not-assessable (FRAX needed), not 'low'. 'BMD loss "
        ">= LSC' "
        "is not implementable (no LSC in the facts): only Z < -3 is used; with >= 7.5 mg/d for >= 6 months "
        "and no "
        "Z-score: not-assessable. < 40: gc_dose >= 30 is very high without a duration (as written). "
        "Untreated "
        "'low' and 'not-assessable' are warnings, as the table says ('warning if not on therapy').",
        "A normal T-score alone cannot exclude moderate risk at >= 40; calling it 'low' would be false reassurance.",
    ),
    (
        "D-SAFE",
        "SAFE-02/03 triggers",
        "SAFE-02 'zoledronic acid ordered/due'; SAFE-03 'ordered but not yet given'.",
        "SAFE-02 also fires for any ordered (not yet given) bisphosphonate, and for current zoledronic acid "
        "(infusion <= 15 months). SAFE-03 'advanced-ckd' is denosumab-only (its boxed warning); for a "
        "zoledronic "
        "order with eGFR < 30 SAFE-02 speaks and the calcium check still applies. When labs could not be "
        "fetched, "
        "SAFE-03 still fires as 'calcium-not-checked' and drafts Ca/albumin.",
        "Warn before the first dose; do not attach denosumab's warning to another drug.",
    ),
    (
        "D-SUPPL",
        "Calcium / vitamin D drafts",
        "UNIV-01 and VITD-01 doses.",
        "UNIV-01 owns the drafts (it always fires with VITD-01: both need the bone-health context). Drafted "
        "only "
        "when the medication list was fully fetched and no active calcium / vitamin D is recorded; no "
        "vitamin D "
        "draft when 25(OH)D > 50. Vitamin D 800 IU/d at >= 50 (1000 when 25(OH)D < 30), 600 below 50. "
        "Calcium is "
        "a total-intake target (diet first). Sex other/unknown >= 51: 1200 mg, flagged.",
        "No duplicate supplements; no vitamin D for a high level; repletion doses stay the clinician's choice.",
    ),
    (
        "D-LAB01",
        "LAB-01 details",
        "'Total testosterone for males'; treatment-naive.",
        "Testosterone for Sex.MALE only. Treatment-naive is a §4 state row. Labs domain unavailable: variant "
        "'not-checked', no drafts.",
        "Sex other/unknown: the indication is unclear; ordering on unknown data would duplicate tests.",
    ),
    (
        "D-BHC",
        "Coded osteoporosis/osteopenia Condition without DXA",
        "Not listed in the bone-health context.",
        "Counts for the bone-health context (UNIV-01, VITD-01) only; never a treatment or DX-01 trigger.",
        "A problem-list entry is weaker evidence than a DXA or fracture, but enough for universal measures.",
    ),
    (
        "D-DATA01",
        "DATA-01 details",
        "'Postmenopausal female < 65 with a risk factor', 'fracture >= 50', men 50-69.",
        "Women 50-64 with unknown status are taken as postmenopausal (C-01) and flagged. Sex other/unknown: "
        "only "
        "where both sexes agree (>= 70; 50-69 with a risk factor). 'Fracture >= 50' = any non-excluded "
        "fracture "
        "with onset at >= 50. Not fired when DXA data could not be fetched completely.",
        "'No DXA on record' must not be claimed from missing data.",
    ),
    (
        "D-ACTIONS",
        "Action de-duplication",
        "§4: one DXA suggestion.",
        f"One DXA draft across all cards, kept by the first of {', '.join(DXA_PRIORITY)}; never within 12 "
        "months "
        f"of any DXA. Each lab is drafted once, by the first of {', '.join(LAB_PRIORITY)}. DX-02 also "
        "refers for "
        "a fragility fracture. MON-02 has no DXA draft (information only, §5 D-04).",
        "Duplicate drafts confuse the order-sign workflow.",
    ),
    (
        "D-FMT",
        "Numbers on cards",
        "Issue 14: one decimal for converted labs, the same decimals in summary and detail, thresholds as written.",
        "Every value shows at most one decimal, cut toward zero (30 nmol/L 25-OH D = 12.0 ng/mL; corrected calcium "
        "9.40 = 9.4); values recorded with one decimal or none keep it. Thresholds drop trailing zeros (hip 3%).",
        "Rounding 19.996 up to '20.0' would contradict 'below threshold'; cutting keeps every one-decimal comparison.",
    ),
    (
        "D-C06-holiday-length",
        "Course long enough for a bisphosphonate holiday",
        "C-06 (rev 2): 'long enough for MON-03 (cumulative oral >=36 months, or >=3 zoledronic acid infusions)'; "
        "MON-03 itself reassesses at 60 months oral.",
        "36 months oral (or 3 infusions), as the definition writes the numbers; oral and IV are counted apart.",
        "The issue's boundary test is 36 vs 35 months; a holiday card after 3-5 years of oral use only asks for "
        "reassessment and drafts no drug.",
    ),
    (
        "D-MON04-TX01",
        "TX-01 during a holiday",
        "MON-04 suppresses TX-01 (c)/(d) only; a hip/vertebral fracture before or during the course would still "
        "fire TX-01 (a) 'not on osteoporosis medication' next to the holiday card.",
        "MON-04 suppresses TX-01 entirely. A fragility fracture after the course ended ends the holiday (TX-01 then "
        "fires); earlier fractures are MON-04 resume criteria (warning). An osteoporosis drug ordered ends the "
        "holiday card too.",
        "One voice: 'not on medication, start alendronate' next to 'bisphosphonate holiday' contradicts itself.",
    ),
    (
        "D-SAFE01-stopped",
        "Denosumab 'marked stopped'",
        "Rev 2: a completed single injection is 'last dose D', never 'marked stopped' unless the record says stopped.",
        "Status stopped or on-hold marks it stopped; completed never does.",
        "An on-hold denosumab is a pause the clinician must plan for as much as a stop.",
    ),
    (
        "D-6-foreign",
        "Another patient's records (§6 rev 2, §7.19)",
        "'Dropped; DATA-03 says records of another patient were ignored.' Silent on whether the domain they came in "
        "is then incomplete.",
        "Dropped at every depth (nested Bundles, contained) by one screen for prefetch, fetched data and osteo-cds "
        "evaluate; each is named in DATA-03 ('record of another patient: ignored', record id only, no PHI in logs). "
        "The domain is not marked partly retrieved.",
        "Marking it partial would change other cards for data that is not this patient's; the patient's own records "
        "were all received.",
    ),
    (
        "D-6-future",
        "Clinical dates after NOW + 1 day (§6 rev 2)",
        "'effective, onset, administration, authored' are named; issued, recordedDate, dateAsserted, performed and "
        "planned dates are not.",
        "Checked: effective[x], issued, onset[x], recordedDate, performed[x], dateAsserted, authoredOn, "
        "FamilyMemberHistory.date. Not checked: planned dates (ServiceRequest occurrence, Appointment start, dosage "
        "bounds, a Procedure in preparation: TX-04 needs them). A future-dated entry is not used and DATA-01 may "
        "then fire (there is no valid DXA).",
        "Planned dates are about the future by nature; a recorded result or diagnosis dated ahead is an error.",
    ),
    (
        "D-6-deceased",
        "Deceased patient (§6 rev 2)",
        "No cards; 'deceasedDateTime <= NOW'.",
        "Empty card list for deceasedBoolean true or a deceasedDateTime whose date is on or before NOW's date; a "
        "death date after NOW is ignored (cards as usual).",
        "A future death date is itself a data error; withholding advice on it would hide cards from a living patient.",
    ),
    (
        "D-DATA01-nondiag",
        "DATA-01 with only non-diagnostic DXA studies (rev 2)",
        "'Never while a DXA-coded observation is on file that could not be interpreted'; a study with only "
        "non-diagnostic sites counts for the 12-month floor.",
        "A study whose values are all implausible or otherwise unusable (or an extraction DXA issue: no value, unit, "
        "date) blocks DATA-01. A forearm/heel-only study is interpretable, just not diagnostic: DATA-01 still fires, "
        "worded 'No diagnostic DXA on record' with the study's date, and MON-02's 'last DXA' ignores it.",
        "Screening stays indicated for a woman whose only scan is a forearm; saying 'No DXA on record' would "
        "contradict the chart.",
    ),
    (
        "D-1.1-unclassified",
        "An entry naming an osteoporosis drug that cannot be classified (§6 last row, §7.18)",
        "TX-01 says 'a {drug} entry is on the list but could not be read: confirm current therapy'.",
        "{drug} is the class (e.g. 'an oral bisphosphonate'); the card's summary falls back to '(an oral "
        "bisphosphonate entry could not be read)' when the long form exceeds 140 characters, and the detail carries "
        "the full sentence. No alendronate draft (gate medications = unreadable-entry). An unclassifiable "
        "glucocorticoid entry is a DATA-03 finding affecting GC-01.",
        "The class is what the entry is known to be; a product name may be wrong.",
    ),
    (
        "D-1.1-combinations",
        "Combination products (§1.1)",
        "Silent.",
        "One exposure per ingredient: Fosamax Plus D is alendronate and vitamin D; Duavee is bazedoxifene (SERM) and "
        "conjugated estrogens (estrogen, not osteoporosis therapy, C-06).",
        "Each ingredient has its own rules (vitamin D intake, bone-toxic or protective drugs).",
    ),
    (
        "D-1.1-quirks",
        "A MedicationRequest without intent (§1.1)",
        "'Repair and read.' Silent on the value.",
        "intent 'order' on the patient's list (an entry on the list is an order); 'proposal' in an order hook's"
        " draft (it is not signed yet); status still decides active / planned.",
        "An EHR list entry without intent is, in practice, a prescription; a draft is what the clinician is about"
        " to sign.",
    ),
)

ACTION_PARAMS = (
    ("order-dxa", "{} or {'with_vfa': True} (GC-01)"),
    ("order-labs", "{'labs': tuple[str]} with the LAB-01 short names (CBC, Ca, albumin, phos, eGFR, ALP, "
        "TSH, "
     "25-OH D, testosterone)"),
    ("draft-alendronate", "{'drug': 'alendronate', 'dose_mg': 70, 'route': 'oral', 'frequency': 'weekly'}"),
    ("draft-calcium", "{'mg_per_day': 1000 | 1200, 'total_intake': True}"),
    ("draft-vitamin-d", "{'iu_per_day': 600 | 800 | 1000}"),
    ("referral", "{'specialty': 'endocrinology', 'reason': str}"),
)  # fmt: skip
