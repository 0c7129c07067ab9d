"""Reads an HL7 v2 message with Debian's python3-hl7 (a parser radflow did not write) and
prints the fields the ORU^R01 test checks, as JSON. Usage: check_oru.py FILE."""
import json
import sys

import hl7


def safe(msg, key):
    """msg[key] as text; "" where the value has fewer parts than the key names."""
    try:
        return str(msg[key])
    except (IndexError, KeyError):
        return ""


def main(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    msg = hl7.parse(text)
    out = {
        "segments": [str(seg[0]) for seg in msg],
        "msh9": [str(msg["MSH.F9.R1.C1"]), str(msg["MSH.F9.R1.C2"]), str(msg["MSH.F9.R1.C3"])],
        "msh10": str(msg["MSH.F10"]),
        "msh12": str(msg["MSH.F12"]),
        "msh18": str(msg["MSH.F18"]),
        "pid3_id": str(msg["PID.F3.R1.C1"]),
        "pid3_authority": str(msg["PID.F3.R1.C4.S1"]),
        "pid3_type": str(msg["PID.F3.R1.C5"]),
        "pid5_family": str(msg["PID.F5.R1.C1"]),
        "pid8": str(msg["PID.F8"]),
        "pv1_2": str(msg["PV1.F2"]),
        "orc1": str(msg["ORC.F1"]),
        "obr3": str(msg["OBR.F3.R1.C1"]),
        "obr4": [str(msg["OBR.F4.R1.C1"]), str(msg["OBR.F4.R1.C3"])],
        "obr7": str(msg["OBR.F7"]),
        "obr22": str(msg["OBR.F22"]),
        "obr25": str(msg["OBR.F25"]),
        "obr32_family": str(msg["OBR.F32.R1.C1.S2"]),
        "obx": [],
    }
    for n in range(1, len(msg.segments("OBX")) + 1):
        key = "OBX" if n == 1 else "OBX%d" % n
        get = lambda field: safe(msg, "%s.%s" % (key, field))
        out["obx"].append({
            "type": get("F2"),
            "code": get("F3.R1.C1"),
            "system": get("F3.R1.C3"),
            "sub_id": get("F4"),
            # The accessor (msg["OBX2.F5"]) returns the value with escape sequences decoded.
            "value": get("F5"),
            "units": get("F6.R1.C1"),
            "units_system": get("F6.R1.C3"),
            "status": get("F11"),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
