"""LOINC codes of the built-in instruments' items and answers (docs/references.md, LOINC).

The total-score codes live on the instrument definitions (:attr:`Instrument.loinc`);
this module adds what only FHIR needs: the panel code, the item codes in item order
and the answer codes of the shared answer list. An instrument is listed here only
when every code was confirmed against its LOINC entry; the others travel with
treatplan's local item codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ._records import record_repr

LOINC = "http://loinc.org"

#: LOINC answer list LL358-3 ("Not at all" .. "Nearly every day"), shared by the
#: PHQ-9 and GAD-7 items: answer code -> item response.
_FREQUENCY_ANSWERS: Mapping[str, int] = MappingProxyType(
    {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
)


@attrs.frozen
class LoincForm:
    """The LOINC codes of one instrument form: panel, items in order, answers."""

    __repr__ = record_repr

    panel: str
    items: tuple[str, ...]
    answers: Mapping[str, int]

    def answer_code(self, response: int) -> str | None:
        return next((code for code, value in self.answers.items() if value == response), None)


#: Per built-in instrument code. PHQ-9 panel 44249-1 and GAD-7 panel 69737-5.
LOINC_FORMS: Mapping[str, LoincForm] = MappingProxyType(
    {
        "PHQ-9": LoincForm(
            panel="44249-1",
            items=(
                "44250-9",  # little interest or pleasure
                "44255-8",  # feeling down
                "44259-0",  # sleep
                "44254-1",  # tired
                "44251-7",  # appetite
                "44258-2",  # feeling bad about oneself
                "44252-5",  # concentration
                "44253-3",  # moving or speaking slowly, or restless
                "44260-8",  # thoughts of being better off dead or self-harm
            ),
            answers=_FREQUENCY_ANSWERS,
        ),
        "GAD-7": LoincForm(
            panel="69737-5",
            items=(
                "69725-0",  # nervous, anxious, on edge
                "68509-9",  # not able to stop or control worrying
                "69733-4",  # worrying too much
                "69734-2",  # trouble relaxing
                "69735-9",  # restless
                "69689-8",  # easily annoyed or irritable
                "69736-7",  # afraid something awful might happen
            ),
            answers=_FREQUENCY_ANSWERS,
        ),
    }
)
