"""Rebuild the rule codelists in rules/codelists/ from the published source codelists.

Run from the repository root:  .venv/bin/python scripts/build_rule_codelists.py
Each output keeps the source rows verbatim (code,term,source) that match INCLUDE and do not
match EXCLUDE (case-insensitive regular expressions on the term). Nothing is typed by hand.
Every copy/filter is listed in PROVENANCE.md; this script is the executable form of that table.

The `ing-` lists (INGREDIENT_SPECS) are built by ingredient rather than from one published list:
every row of every source the bundled dm+d extract is built from (the dm+d VTM table, the
codelists, dmd-attributes.csv) whose term names the ingredient or one of its brands, combination
products included, keeping only codes the bundled extract resolves (see `ingredient_rows`).
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "formulary" / "dmd" / "sources"
SRC = SOURCES / "codelists"
BUNDLED = ROOT / "formulary" / "dmd" / "bundled"
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

# --- Ingredient codelists (prefix ing-): see INGREDIENT SOURCES in PROVENANCE.md ---------------
# output name -> (include, exclude): case-insensitive regular expressions on the term. The
# include names the ingredient and every brand that the source terms use for it (brands were read
# from the terms of the extract's products linked to the ingredient's VTM and of the class's own
# source list, not typed from memory); the exclude drops routes or products the rules do not mean.
INGREDIENT_SPECS: dict[str, tuple[str, str | None]] = {
    "ing-verapamil.csv": (
        r"verapamil|securon|cordilox|\buniver\b|verapress|vera-til|vertab|zolvera|ethimil"
        r"|\btarka\b",
        None,
    ),
    "ing-diltiazem.csv": (
        r"diltiazem|adizem|tildiem|slozem|viazem|angitil|zemtard|dilzem|carzem|\buard\b"
        r"|dilcardia|kenzem|zemret|calcicard|disogram|retalzem|angiozem",
        None,
    ),
    # Systemic beta-blockers, alone or combined; eye preparations are left out (see PROVENANCE).
    "ing-beta-blockers-systemic.csv": (
        r"acebutolol|atenolol|bisoprolol|carvedilol|celiprolol|esmolol|labetalol|metoprolol"
        r"|nadolol|nebivolol|oxprenolol|pindolol|propranolol|sotalol|timolol|bedranol|cardicor"
        r"|tenormin|trandate|inderal|syprol|sectral|atenix|congescor|lopresor|beta-prograne"
        r"|beta-cardone|celectol|eucardic|monocor|\bemcor\b|betaloc|visken|sotacor|nebilet"
        r"|antipressan|\bsoloc\b|corgard|trasicor|rapranol|angilol|\bbetim\b|co-tenidone"
        r"|tenoret|tenchlor|kalten|inderetic|inderex|beta-adalat|\btenif\b|trasidrex|viskaldix"
        r"|moducren|co-prenozide",
        r"\beye\b|ophthalm|\bdrops\b|\bgel\b|unit dose|cosopt|xalacom|ganfort|combigan|azarga"
        r"|duotrav|timoptol|tiopex|eysano|nyogel|vizidor|bimatoprost|brimonidine|brinzolamide"
        r"|dorzolamide|latanoprost|tafluprost|travoprost",
    ),
    "ing-ivabradine.csv": (r"ivabradine|procoralan", None),
    "ing-ranolazine.csv": (r"ranolazine|\branexa\b", None),
    "ing-pde5-inhibitors.csv": (
        r"sildenafil|tadalafil|vardenafil|avanafil|viagra|levitra|vivanza|spedra|cialis|revatio"
        r"|adcirca|vizarsin|nipatra|granpidam|talmanco|mysildecard|aronix|liberize",
        None,
    ),
    "ing-nitrates.csv": (
        r"glyceryl trinitrate|\bgtn\b|isosorbide|elantan|imdur|deponit|isoket|isotard|\bismo\b"
        r"|nitrolingual|cedocard|modisal|minitran|suscard|\bisib\b|monomax|coro-nitro|sustac"
        r"|angitak|chemydur|monomil|nitromin|xismox|glytrin|percutol",
        None,
    ),
    "ing-nicorandil.csv": (r"nicorandil|ikorel", None),
    "ing-allopurinol.csv": (r"allopurinol|zyloric|uricto|caplenal|cosuric|rimapurinol", None),
    "ing-febuxostat.csv": (r"febuxostat|adenuric", None),
    "ing-thiopurines.csv": (
        r"azathioprine|mercaptopurine|imuran|azapress|immunoprin|puri-nethol|xaluprine|hanixol",
        None,
    ),
    "ing-colchicine.csv": (r"colchicine", None),
    "ing-ticagrelor.csv": (r"ticagrelor|brilique", None),
    "ing-domperidone.csv": (r"domperidone|motilium", None),
    "ing-hydroxyzine.csv": (r"hydroxyzine|atarax|ucerax", None),
    "ing-citalopram-escitalopram.csv": (r"citalopram|cipramil|cipralex", None),
    "ing-amiodarone.csv": (r"amiodarone|cordarone|amyben|darmil", None),
    "ing-haloperidol.csv": (r"haloperidol|haldol|serenace|dozic|halkid", None),
    "ing-pimozide.csv": (r"pimozide|\borap\b", None),
    "ing-clarithromycin.csv": (
        r"clarithromycin|klaricid|clarosip|xetinin|mycifor|febzin|\bclarie\b",
        None,
    ),
    # Systemic erythromycin only: skin and eye preparations and their combinations are left out.
    "ing-erythromycin-systemic.csv": (
        r"erythromycin|erythroped|erythrocin|tiloryth|kerymax|erymax",
        r"zinc|tretinoin|benzoyl|\bgel\b|topical|cutaneous|\bskin\b|ointment|\beye\b|\bcream\b"
        r"|zineryt|isotrexin|aknemycin|stiemycin",
    ),
    "ing-azithromycin-systemic.csv": (r"azithromycin|zithromax", r"\beye\b|azyter"),
    "ing-hydroxychloroquine.csv": (r"hydroxychloroquine|plaquenil|quinoric", None),
    "ing-ciprofloxacin-systemic.csv": (
        r"ciprofloxacin|ciproxin",
        r"\beye\b|\bear\b|otic|ciloxan|cetraxal|dexamethasone|fluocinolone|ointment",
    ),
    "ing-mirtazapine.csv": (r"mirtazapine|zispin", None),
    "ing-maois.csv": (
        r"phenelzine|isocarboxazid|tranylcypromine|moclobemide|nardil|parnate|manerix",
        None,
    ),
    "ing-ssris.csv": (
        r"citalopram|fluoxetine|paroxetine|sertraline|fluvoxamine|cipralex|cipramil|seroxat"
        r"|prozac|faverin|lustral|felicium|oxactin|ranflutin|prozit|prozep|\bolena\b",
        None,
    ),
    "ing-fluvoxamine.csv": (r"fluvoxamine|faverin", None),
    "ing-duloxetine.csv": (r"duloxetine|cymbalta|duciltia|depalta|\bdutor\b|yentreve", None),
    "ing-venlafaxine.csv": (
        r"venlafaxine|efexor|venlalic|vencarm|vensir|viepax|venlablue|venladex|majoven"
        r"|apclaven|rodomel|trixat|winfex|tardcaps|vexarin|tifaxin|vaxalin|venaxx|politid"
        r"|foraven|ranfaxine|tonpular|alventa|mentaven|depefex|venlaneo|sunveniz|bonilux"
        r"|amphero|venlasov|venzip",
        None,
    ),
    "ing-triptans.csv": (
        r"sumatriptan|zolmitriptan|rizatriptan|naratriptan|almotriptan|eletriptan|frovatriptan"
        r"|imigran|zomig|maxalt|naramig|almogran|relpax|migard",
        r"oxitriptan|naproxen",
    ),
    "ing-linezolid.csv": (r"linezolid|zyvox", None),
}


@dataclass(frozen=True, slots=True)
class Extract:
    """What the bundled extract says about a code: resolvable, and a VTM's products' names."""

    known: frozenset[str]
    products_of_vtm: dict[str, list[str]]


def _extract() -> Extract:
    """Codes the bundled extract resolves as dm+d (its concepts, not NON_DMD, and retired ids)
    and, for each VTM, the names of the concepts linked to it."""
    concepts = pl.read_parquet(
        BUNDLED / "concepts.parquet", columns=["code", "name", "level", "vtm"]
    )
    retired = pl.read_parquet(BUNDLED / "superseded.parquet", columns=["previous_code"])
    dmd = concepts.filter(pl.col("level") != "NON_DMD")
    products: dict[str, list[str]] = {}
    for name, vtm in dmd.filter(pl.col("vtm").is_not_null()).select("name", "vtm").iter_rows():
        products.setdefault(vtm, []).append(name)
    known = frozenset([*dmd["code"].to_list(), *retired["previous_code"].to_list()])
    return Extract(known, products)


def _source_rows() -> Iterator[tuple[str, str, str]]:
    """(code, term, source) of every row the bundled extract is built from, in a fixed order:
    the valid rows of the dm+d VTM table, the codelists by file name, then dmd-attributes.csv."""
    with (SOURCES / "reference-vtm.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["invalid"]:
                yield row["code"], row["term"], row["source"]
    for path in sorted(SRC.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield row["code"], row["term"], row["source"]
    with (SOURCES / "dmd-attributes.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["code"], row["term"], row["source"]


def ingredient_rows(
    include: str, exclude: str | None, rows: list[tuple[str, str, str]], extract: Extract
) -> tuple[list[tuple[str, str, str]], int]:
    """Rows naming the ingredient (first listing of each code wins), sorted by term and code,
    and how many matching codes were dropped because the bundled extract does not resolve them.

    A listed VTM stands for every product linked to it, so with an exclude a VTM is left out
    when any of its products is excluded (e.g. Timolol: tablets and eye drops); its products
    that are kept still bring a VTM-level prescription into the group. A placeholder row "VMP
    previous/subsequent to X" is kept when X is, as in the filters above.
    """

    def excluded(term: str) -> bool:
        return exclude is not None and re.search(exclude, term, re.I) is not None

    kept: dict[str, tuple[str, str, str]] = {}
    dropped: set[str] = set()
    for code, term, source in rows:
        if code in kept or not re.search(include, term, re.I) or excluded(term):
            continue
        if code not in extract.known:
            dropped.add(code)
        elif not any(excluded(name) for name in extract.products_of_vtm.get(code, ())):
            kept[code] = (code, term, source)
    for code, term, source in rows:
        match = PLACEHOLDER.match(term)
        if match and match.group(1) in kept and code not in kept and code in extract.known:
            kept[code] = (code, term, source)
    ordered = sorted(kept.values(), key=lambda row: (row[1].lower(), row[0]))
    return ordered, len(dropped - kept.keys())


def write_ingredient_lists() -> list[tuple[str, str, str, int, int]]:
    """Write every INGREDIENT_SPECS list; (file, include, exclude, rows, dropped) for each."""
    rows = list(_source_rows())
    extract = _extract()
    report = []
    for out, (include, exclude) in INGREDIENT_SPECS.items():
        kept, dropped = ingredient_rows(include, exclude, rows, extract)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(["code", "term", "source"])
        writer.writerows(kept)
        (OUT / out).write_bytes(buffer.getvalue().encode("utf-8"))
        report.append((out, include, exclude or "-", len(kept), dropped))
    return report


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
    for ingredient in write_ingredient_lists():
        print("\t".join(str(x) for x in ingredient))
    return 0


if __name__ == "__main__":
    sys.exit(main())
