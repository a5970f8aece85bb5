"""The national code list 医疗收费项目类别 (``med_chrgitm_type``), kept as data in one place.

Fee details (费用明细, transaction 2204 and its output) name each item's category by this list;
the importer keeps codes it does not know and says so, the audit reads which categories are
examinations and tests (Shanxi art. 9) and which are drugs (art. 14, Anshan art. 23), and the
institution indicators sum the examinations' share.

Source and how sure it is: the list is the one the issue gives. The national platform's
interface specification itself could not be read here; the same fourteen codes and names are
what a hospital information system's 2204/4201 upload maps its own fee classes to (a public
HIS stored procedure found by content, ``case when fjmc like '%检查费%' then '03' ...``), and the
field's width (6 characters) is that of the 2204 output as integration code transcribes it
(TeaHZ/185, ``OnlineBusHos185/Models/T2204.cs``; a second transcription agrees). So: the codes
and names agree with one secondary source, not checked against the NHSA's own text.
"""

from __future__ import annotations

from types import MappingProxyType

#: code -> name (医疗收费项目类别)
MED_CHRGITM_TYPES = MappingProxyType(
    {
        "01": "床位费",
        "02": "诊察费",
        "03": "检查费",
        "04": "化验费",
        "05": "治疗费",
        "06": "手术费",
        "07": "护理费",
        "08": "卫生材料费",
        "09": "西药费",
        "10": "中药饮片费",
        "11": "中成药费",
        "12": "一般诊疗费",
        "13": "挂号费",
        "14": "其他费",
    }
)
#: 检查费, 化验费: done where they were prescribed (Shanxi art. 9), the examination share.
EXAMINATIONS = frozenset({"03", "04"})
#: 西药费, 中药饮片费, 中成药费: what a prescription's drugs are billed as (Shanxi art. 14).
DRUGS = frozenset({"09", "10", "11"})

__all__ = ["DRUGS", "EXAMINATIONS", "MED_CHRGITM_TYPES"]
