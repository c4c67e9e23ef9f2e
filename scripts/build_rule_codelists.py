"""Rebuild the rule codelists in rules/codelists/ from the published source codelists.

Run from the repository root:  .venv/bin/python scripts/build_rule_codelists.py
Each output keeps the source rows verbatim (code,term,source) that match INCLUDE and do not
match EXCLUDE (case-insensitive regular expressions on the term). Nothing is typed by hand.
Every copy/filter is listed in PROVENANCE.md; this script is the executable form of that table.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "formulary" / "dmd" / "sources" / "codelists"
OUT = ROOT / "rules" / "codelists"
# The reference tables beside the codelists (reference-vtm.csv, reference-vmp-id-changes.csv).
REFERENCE = SRC.parent

# output name -> (source file, include regex or None for a whole copy, exclude regex or None)
PLACEHOLDER = re.compile(r"VMP (?:previous|subsequent) to (\d+)$")

SPECS: dict[str, tuple[str, str | None, str | None]] = {
    "int-warfarin.csv": ("warfarin.csv", None, None),
    "int-doacs.csv": ("doacs.csv", None, None),
    "int-dabigatran.csv": ("doacs.csv", r"dabigatran|pradaxa", None),
    "int-lmwh.csv": ("low-molecular-weight-heparins.csv", None, None),
    "int-clarithromycin.csv": ("clarithromycin.csv", None, None),
    "int-erythromycin.csv": ("macrolides.csv", r"erythro|erymax|tiloryth|kerymax", None),
    "int-ciprofloxacin.csv": ("co-amoxiclav-cephalosporins-quinolones.csv", r"cipro", None),
    "int-co-trimoxazole.csv": ("antibacterials.csv", r"co-trimoxazole|septrin", None),
    "int-trimethoprim.csv": ("trimethoprim.csv", None, None),
    "int-linezolid.csv": ("antibacterials.csv", r"linezolid|zyvox", None),
    "int-statins.csv": ("statins.csv", None, None),
    "int-simvastatin.csv": ("statins.csv", r"simvastatin|zocor|inegy|simvador|ranzolont", None),
    "int-atorvastatin.csv": ("statins.csv", r"atorvastatin|lipitor", None),
    "int-rosuvastatin.csv": ("statins.csv", r"rosuvastatin|crestor", None),
    "int-ciclosporin-oral.csv": ("ciclosporin-oral.csv", None, None),
    "int-amlodipine.csv": ("calcium-channel-blockers.csv", r"amlodipine|istin\b|amlostin", None),
    "int-diltiazem.csv": (
        "calcium-channel-blockers.csv",
        r"diltiazem|adizem|viazem|slozem|dilcardia|carzem|kenzem|tildiem|angiozem|dilzem"
        r"|angitil|zemtard|retalzem|zemret|disogram|\buard\b",
        None,
    ),
    "int-verapamil.csv": (
        "calcium-channel-blockers.csv",
        r"verapamil|securon|cordilox|\buniver\b|verapress|vera-til|ethimil|vertab|zolvera",
        None,
    ),
    "int-digoxin.csv": ("digoxin.csv", None, None),
    "int-ssris.csv": ("ssris.csv", None, None),
    "int-citalopram-escitalopram.csv": ("ssris.csv", r"citalopram|cipramil|cipralex", None),
    "int-maois.csv": ("maois.csv", None, None),
    "int-snris.csv": (
        "other-antidepressants.csv",
        r"venlafaxine|duloxetine|efexor|cymbalta|duciltia|depalta|dutor\b|venlalic|vencarm"
        r"|vensir|viepax|venlablue|venladex|majoven|apclaven|rodomel|trixat|winfex|tardcaps"
        r"|vexarin|tifaxin|vaxalin|venaxx|politid|foraven|ranfaxine|tonpular|alventa|mentaven"
        r"|depefex|venlaneo|sunveniz|bonilux|amphero|venlasov|venzip",
        None,
    ),
    "int-tricyclics.csv": ("tricyclic-antidepressants.csv", None, None),
    "int-opioids.csv": ("opioid-pain-medicines-dfm.csv", None, r"intrasite|\bgel\b"),
    "int-tramadol.csv": (
        "opioid-pain-medicines-dfm.csv",
        r"tramadol|zydol|zamadol|tramacet|mabron|marol\b|dromadol|maxitram|larapam|tradorec"
        r"|tramulief|zeridame|oldaram|invodol|tramquel|zytram|tilodol|brimisol|tramake",
        None,
    ),
    "int-benzodiazepines.csv": ("benzodiazepines.csv", None, r"meprobamate"),
    "int-z-drugs.csv": ("z-drugs.csv", None, None),
    "int-gabapentin.csv": ("gabapentinoids.csv", r"gabapentin|neurontin", r"\bgel\b|cream"),
    "int-pregabalin.csv": (
        "gabapentinoids.csv",
        r"pregabalin|lyrica|rewisca|lecaent|alzain|axalid",
        None,
    ),
    "int-thiazides.csv": ("thiazide-diuretics.csv", None, None),
    "int-loop-diuretics.csv": (
        "pincer-diuretics-loop.csv",
        r"furosemide|frusemide|bumetanide|torasemide|torsemide|lasix|burinex|frusol|\btorem\b"
        r"|diuresal|froop|frusid|co-amilofruse|frumil|lasoride|fru-co|lasilactone|frusene"
        r"|lasikal|diumide",
        r"nasal",
    ),
    "int-potassium-sparing.csv": (
        "potassium-sparing-diuretics-aldosterone-antagonists.csv",
        None,
        None,
    ),
    "int-arbs.csv": ("arbs.csv", None, None),
    "int-acei.csv": ("ace-inhibitors.csv", None, None),
    "int-acei-combinations.csv": (
        "combination-bp-medication.csv",
        r"captopril|co-zidocapt|capozide|acezide|enalapril|innozide|lisinopril|carace|lisicostad"
        r"|zestoretic|caralpha|perindopril|coversyl|quinapril|accuretic|ramipril|triapin"
        r"|trandolapril|tarka",
        None,
    ),
    "int-arb-combinations.csv": (
        "combination-bp-medication.csv",
        r"losartan|cozaar|valsartan|co-diovan|exforge|irbesartan|coaprovel|telmisartan"
        r"|micardisplus|actelsar|tolucombi|olmesartan|olmetec|sevikar|candesartan|eprosartan"
        r"|azilsartan",
        None,
    ),
    "int-sacubitril-valsartan.csv": ("pincer-ace-inhibitors.csv", r"sacubitril|entresto", None),
    "int-thiazide-combinations.csv": (
        "combination-bp-medication.csv",
        r"hydrochlorothiazide|indapamide|chlortalidone|bendroflumethiazide|cyclopenthiazide"
        r"|hydroflumethiazide|clopamide|co-tenidone|co-zidocapt|co-prenozide|acezide|accuretic"
        r"|capozide|carace \d+ plus|caralpha|coversyl (arginine )?plus|innozide|lisicostad"
        r"|zestoretic|actelsar hct|co-diovan|coaprovel|cozaar-comp|micardisplus|olmetec plus"
        r"|sevikar hct|tolucombi|kalten|moducren|inderetic|inderex|tenchlor|tenoret|co-betaloc"
        r"|trasidrex|viskaldix",
        None,
    ),
    "int-thiazide-k-sparing-combinations.csv": (
        "potassium-sparing-diuretics-aldosterone-antagonists.csv",
        r"hydrochlorothiazide|cyclopenthiazide|hydroflumethiazide|chlortalidone|benzthiazide"
        r"|co-amilozide|co-triamterzide|co-flumactone|navispare|amil-co|moduretic|moduret\b"
        r"|synuretic|amilmaxco|aldactide|dyazide|triam-co|triamaxco|kalspare|dytide",
        None,
    ),
    "int-haloperidol.csv": (
        "antipsychotics-first-generation.csv",
        r"haloperidol|serenace|haldol|dozic|halkid",
        None,
    ),
    "int-pimozide.csv": ("antipsychotics-first-generation.csv", r"pimozide|\borap\b", None),
    "int-antipsychotics-fga.csv": ("antipsychotics-first-generation.csv", None, None),
    "int-antipsychotics-sga.csv": ("antipsychotics-second-generation.csv", None, None),
    "int-antipsychotics-depot.csv": ("antipsychotics-depot.csv", None, None),
    "int-clopidogrel.csv": ("antiplatelets.csv", r"clopidogrel|plavix|grepid", None),
    "int-omeprazole-esomeprazole.csv": (
        "ppis-oral.csv",
        r"omeprazole|nexium|losec|mezzopram|emozul|mepradec|omeran|zanprol|ventra\b|guardium",
        None,
    ),
    "int-metformin.csv": ("metformin.csv", None, None),
    "int-nitrofurantoin.csv": ("nitrofurantoin.csv", None, None),
    "int-thiazolidinediones.csv": ("thiazolidinediones.csv", None, None),
    "int-valproate.csv": (
        "teratogenic-medicines.csv",
        r"valpro|epilim|episenta|depakote|convulex|dyzantil|orlept|epival|belvo|syonell|depakin",
        None,
    ),
    "int-topiramate.csv": ("teratogenic-medicines.csv", r"topiramate|topamax", None),
    # --- Polypharmacy (STOPP/START, medicine burden, falls); see PROVENANCE.md ---------------
    "pp-beta-blockers.csv": ("beta-blockers.csv", None, r"trimetazidine|vastarel"),
    "pp-beta-blocker-combinations.csv": (
        "combination-bp-medication.csv",
        r"co-tenidone|tenoretic|tenoret|tenchlor|tenif|beta-adalat|kalten|atenolol|co-betaloc"
        r"|metoprolol|inderetic|inderex|co-prenozide|trasidrex|viskaldix|pindolol|moducren"
        r"|timolol",
        None,
    ),
    "pp-calcium-channel-blockers.csv": (
        "calcium-channel-blockers.csv",
        None,
        r"trimetazidine|vastarel",
    ),
    "pp-alpha-blockers.csv": ("alpha-blockers.csv", None, None),
    "pp-centrally-acting-antihypertensives.csv": (
        "centrally-acting-antihypertensives.csv",
        None,
        None,
    ),
    "pp-ppis-oral.csv": ("ppis-oral.csv", None, None),
    "pp-sulfonylureas.csv": ("sulfonylureas.csv", None, None),
    "pp-sglt2-inhibitors.csv": ("sglt2-inhibitors.csv", None, None),
    "pp-corticosteroids-systemic.csv": ("corticosteroids-oral-im-iv.csv", None, None),
    "pp-mras.csv": (
        "potassium-sparing-diuretics-aldosterone-antagonists.csv",
        r"spironolactone|eplerenone|finerenone|aldactone|inspra|kerendia|spirospare",
        r"furosemide|frusemide|hydroflumethiazide|co-flumactone|aldactide|lasilactone",
    ),
    "count-excluded-gabapentin-topical.csv": ("gabapentinoids.csv", r"\bgel\b|cream", None),
    "count-excluded-morphine-gel.csv": (
        "opioid-pain-medicines-dfm.csv",
        r"intrasite|\bgel\b",
        None,
    ),
    "count-excluded-skin-scalp.csv": (
        "nirmatrelvir-ritonavir-interactions.csv",
        r"cream|ointment|shampoo",
        r"vaginal|pessar|eye|ear drops|nasal|rectal",
    ),
    "count-excluded-skin-topicals.csv": (
        "sps-paxlovid-interactions-do-not-use.csv",
        r"cream|ointment|\bgel\b",
        r"vaginal|pessar|eye|ear drops|nasal|rectal|oral gel|oromucosal|tacrolimus|protopic",
    ),
}


# --- Duplication classes (rules/groups/duplication-classes.yaml); see PROVENANCE.md -----------
# Each class list is the union of its parts: a part (source, include, exclude) is filtered as in
# SPECS (a `reference-*.csv` source is the 2019 dm+d reference table beside the codelists, valid
# rows only); rows are taken in part order, each code once (its first row). Every product that
# contains the class's ingredient is kept, combination products included. Last, the VMPs whose id
# replaced a kept VMP's (reference-vmp-id-changes.csv, chains followed) are added, because the
# bundled extract holds both ids and a list older than the change misses the current one.
Part = tuple[str, str | None, str | None]

STATINS = (
    r"atorvastatin|simvastatin|rosuvastatin|pravastatin|fluvastatin|pitavastatin|lipitor|crestor"
    r"|zocor|lescol|lipostat|inegy|simvador|ranzolont|cholib|luvinsta|dorisin|stefluvin|nandovar"
)
PPIS = (
    r"omeprazole|esomeprazole|lansoprazole|pantoprazole|rabeprazole|losec|nexium|zoton|pariet"
    r"|protium|mezzopram|omeran|emozul|mepradec|zanprol|ventra\b|guardium|pantoloc|axorid|vimovo"
    r"|heliclear|helimet"
)
# Over-the-counter heartburn brands in the PINCER list whose name does not say which drug they
# hold (an H2 antagonist or a PPI): left out of both lists rather than guessed.
OPAQUE_HEARTBURN_BRANDS = (
    r"boots heartburn relief|ultra heartburn relief|lloydspharmacy heartburn"
    r"|lloydspharmacy indigestion relief 75mg"
)
# Opioid-containing mixtures that are not analgesics (antidiarrhoeal, antitussive) and
# preparations applied to wounds.
OPIOID_NOT_ANALGESIC = r"kaolin|ipecacuanha|linctus|terpin|galcodine|intrasite|\bgel\b"
OPIOID_WITH_PARACETAMOL = (
    r"codeine|dihydrocodeine|co-codamol|co-dydramol|tramadol|tramacet|kapake|solpadol|tylex"
    r"|paracodol|paramol|codipar|remedeine|zapain|solpadeine (plus|max)|migraleve(?! ultra)"
)
TRAMADOL = (
    r"tramadol|zydol|zamadol|tramacet|mabron|marol\b|dromadol|maxitram|larapam|tradorec"
    r"|tramulief|zeridame|oldaram|invodol|tramquel|zytram|tilodol|brimisol|tramake|aceon|maneo"
    r"|skudexa|trapadex"
)
OPIOID_ROUTE_LISTS = (
    "opioids-oral.csv",
    "opioids-transdermal.csv",
    "opioids-parenteral.csv",
    "opioids-buccal-nasal-oromucosal.csv",
    "opioids-rectal.csv",
    "opioids-inhalation.csv",
)
LOOP_DIURETICS = (
    r"furosemide|frusemide|bumetanide|torasemide|torsemide|lasix|burinex|frusol|\btorem\b"
    r"|diuresal|froop|frusid|co-amilofruse|frumil|lasoride|fru-co|lasilactone|frusene"
    r"|lasikal|diumide"
)
# Glucocorticoids by mouth (BNF 6.3.2); not fludrocortisone (a mineralocorticoid, 6.3.1) and not
# injections, which are often given into a joint.
ORAL_FORM = r"tablet|capsule|oral|dilacort|pevanti|deltacortril|medrone \d"
NOT_ORAL = (
    r"inject|infusion|intra-articular|intramuscular|depo-medrone|solu-medrone|kenalog|lederspan"
    r"|adcortyl"
)
# VTMs of glucocorticoids given only by mouth (their products are in no source list).
GLUCOCORTICOID_VTMS = r"^(deflazacort|prednisone|cortisone)$"
SEDATING_ANTIHISTAMINES = (
    r"chlorphenamine|chlorpheniramine|promethazine|hydroxyzine|cyproheptadine|alimemazine"
    r"|trimeprazine|clemastine|diphenhydramine|doxylamine|dimenhydrinate|piriton|phenergan"
    r"|atarax|ucerax|periactin|tavegil|vallergan|nytol|sominex|avomine|xonvea"
)
# Combination VTMs (a "+" in the name) with a sedating antihistamine among their ingredients.
SEDATING_COMBINATION_VTMS = (
    r"\+.*(" + SEDATING_ANTIHISTAMINES + r")|(" + SEDATING_ANTIHISTAMINES + r").*\+"
)
NOT_SYSTEMIC = r"cream|\bgel\b|ointment|lotion|spray|eye|nasal|topical"
# Rows the bundled extract leaves out as SNOMED CT product concepts outside dm+d (GM-SDE sets list
# old "... - product" and bracketed "[indication]" concepts beside the dm+d ones).
NOT_DMD_PRODUCT = r"- product$|\[[a-z]"
TRIPTANS = r"sumatriptan|zolmitriptan|rizatriptan|naratriptan|almotriptan|eletriptan|frovatriptan"

UNIONS: dict[str, tuple[Part, ...]] = {
    "dup-statins.csv": (
        ("statins.csv", None, r"cream"),
        ("lipid-regulating-non-statin.csv", STATINS, None),
        ("nirmatrelvir-ritonavir-interactions.csv", STATINS, r"cream"),
        ("sps-paxlovid-interactions-do-not-use.csv", STATINS, r"cream"),
    ),
    "dup-oral-nsaids.csv": (
        ("pincer-nsaids-oral.csv", None, r"\btopical\b|eye drops|oromucosal"),
        ("nsaids-oral.csv", None, None),
        ("cox2-nsaids.csv", None, None),
    ),
    "dup-ppis.csv": (
        ("ppis-oral.csv", None, None),
        ("pincer-ppi-ulcer-healing.csv", PPIS, OPAQUE_HEARTBURN_BRANDS),
    ),
    "dup-h2-antagonists.csv": (
        ("pincer-ppi-ulcer-healing.csv", None, PPIS + "|" + OPAQUE_HEARTBURN_BRANDS),
        ("reference-vtm.csv", r"cimetidine|famotidine|nizatidine|ranitidine", None),
    ),
    "dup-opioids.csv": (
        ("opioid-pain-medicines-dfm.csv", None, OPIOID_NOT_ANALGESIC),
        *((name, None, OPIOID_NOT_ANALGESIC) for name in OPIOID_ROUTE_LISTS),
        ("paracetamol.csv", OPIOID_WITH_PARACETAMOL, None),
    ),
    "dup-tramadol.csv": (
        ("opioid-pain-medicines-dfm.csv", TRAMADOL, None),
        *((name, TRAMADOL, None) for name in OPIOID_ROUTE_LISTS),
        ("paracetamol.csv", TRAMADOL, None),
    ),
    "dup-loop-diuretics.csv": (
        ("pincer-diuretics-loop.csv", LOOP_DIURETICS, r"nasal"),
        ("diuretics-loop.csv", None, r"nasal|" + NOT_DMD_PRODUCT),
    ),
    "dup-thiazides.csv": (
        ("thiazide-diuretics.csv", None, None),
        ("combination-bp-medication.csv", SPECS["int-thiazide-combinations.csv"][1], None),
        (
            "potassium-sparing-diuretics-aldosterone-antagonists.csv",
            SPECS["int-thiazide-k-sparing-combinations.csv"][1],
            None,
        ),
    ),
    "dup-antipsychotics.csv": (
        ("antipsychotics-first-generation.csv", None, None),
        ("antipsychotics-second-generation.csv", None, None),
        ("antipsychotics-depot.csv", None, None),
    ),
    "dup-oral-corticosteroids.csv": (
        ("corticosteroids-oral-im-iv.csv", ORAL_FORM, NOT_ORAL + r"|fludrocortisone"),
        ("prednisolone-oral.csv", None, None),
        ("reference-vtm.csv", GLUCOCORTICOID_VTMS, None),
    ),
    "dup-mirtazapine.csv": (("other-antidepressants.csv", r"mirtazapine|zispin", None),),
    "dup-triptans.csv": (
        ("reference-vtm.csv", TRIPTANS, None),
        ("nirmatrelvir-ritonavir-interactions.csv", TRIPTANS, None),
    ),
    "dup-sedating-antihistamines.csv": (
        ("antihistamines-oral.csv", SEDATING_ANTIHISTAMINES, None),
        (
            "antihistamines-all-routes.csv",
            SEDATING_ANTIHISTAMINES,
            NOT_SYSTEMIC + "|" + NOT_DMD_PRODUCT,
        ),
        ("antiemetics.csv", r"cyclizine|valoid|promethazine|avomine|doxylamine|xonvea", None),
        ("reference-vtm.csv", SEDATING_COMBINATION_VTMS, None),
    ),
}


def _placeholder_target(line: str) -> str | None:
    """X for an OpenCodelists row "VMP previous/subsequent to X", else None."""
    row = next(csv.reader([line]))
    match = PLACEHOLDER.match(row[1]) if row else None
    return match.group(1) if match else None


def _filtered(source: str, include: str | None, exclude: str | None) -> tuple[str, list[str], int]:
    """The source's header, its kept lines (verbatim) and its number of rows."""
    raw = (SRC / source).read_bytes().decode("utf-8")
    lines = raw.splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    kept = []
    excluded: set[str] = set()
    for line in body:
        row = next(csv.reader([line]))
        if not row:
            continue
        term = row[1]
        if include is not None and not re.search(include, term, re.I):
            continue
        if exclude is not None and re.search(exclude, term, re.I):
            excluded.add(row[0])
            continue
        kept.append(line)
    # A placeholder row "VMP subsequent to X" stands for X, so it goes where X went.
    kept = [line for line in kept if _placeholder_target(line) not in excluded]
    if include is not None:
        # Second pass: OpenCodelists adds rows "VMP previous to X" / "VMP subsequent to X" for
        # superseded VMP ids; keep those whose X is a code already kept from the same file.
        kept_codes = {next(csv.reader([line]))[0] for line in kept}
        for line in body:
            row = next(csv.reader([line]))
            match = PLACEHOLDER.match(row[1]) if row else None
            if match and match.group(1) in kept_codes and line not in kept:
                kept.append(line)
    return header, kept, len(body)


def _reference_rows(source: str, include: str | None, exclude: str | None) -> list[str]:
    """Valid rows of a reference table whose term matches, as code,term,source lines."""
    with (REFERENCE / source).open(newline="", encoding="utf-8") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if not row["invalid"]
            and (include is None or re.search(include, row["term"], re.I))
            and not (exclude is not None and re.search(exclude, row["term"], re.I))
        ]
    return [_line(row["code"], row["term"], row["source"]) for row in rows]


def _line(code: str, term: str, source: str) -> str:
    """One code,term,source row in the codelists' own form (CSV quoting, CRLF)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([code, term, source])
    return buffer.getvalue()


def _vmp_successors(codes: list[str]) -> list[str]:
    """Rows of the VMPs whose id replaced one of `codes` (following chains), in file order."""
    with (REFERENCE / "reference-vmp-id-changes.csv").open(newline="", encoding="utf-8") as handle:
        changes = list(csv.DictReader(handle))
    have = set(codes)
    added: list[str] = []
    grew = True
    while grew:
        grew = False
        for row in changes:
            if row["previous_code"] in have and row["code"] not in have:
                have.add(row["code"])
                added.append(_line(row["code"], row["term"], row["source"]))
                grew = True
    return added


def build_union(parts: tuple[Part, ...]) -> tuple[str, list[str]]:
    """A duplication-class codelist: its parts' rows (each code once), then VMP successors."""
    header = "code,term,source\r\n"
    lines: list[str] = []
    seen: set[str] = set()
    for source, include, exclude in parts:
        if source.startswith("reference-"):
            found = _reference_rows(source, include, exclude)
        else:
            header, found, _ = _filtered(source, include, exclude)
        for line in found:
            code = next(csv.reader([line]))[0]
            if code not in seen:
                seen.add(code)
                lines.append(line)
    return header, lines + _vmp_successors([next(csv.reader([x]))[0] for x in lines])


def main() -> int:
    report: list[tuple[str, str, str, str, int, int | str]] = []
    for out, (source, include, exclude) in SPECS.items():
        header, kept, total = _filtered(source, include, exclude)
        # Source lines (including their CRLF endings) are written unchanged.
        (OUT / out).write_bytes((header + "".join(kept)).encode("utf-8"))
        report.append((out, source, include or "(whole file)", exclude or "-", len(kept), total))
    for out, parts in UNIONS.items():
        header, lines = build_union(parts)
        (OUT / out).write_bytes((header + "".join(lines)).encode("utf-8"))
        report.append((out, " + ".join(p[0] for p in parts), "(union)", "-", len(lines), ""))
    for entry in report:
        print("\t".join(str(x) for x in entry))
    return 0


if __name__ == "__main__":
    sys.exit(main())
