#!/usr/bin/python3
"""A modality's MPPS for the browser test of the Exams page (tests/browser/exams.test.mjs):
N-CREATE IN PROGRESS, then optionally N-SET COMPLETED or DISCONTINUED (PS3.4 F.7), for the
order with ACCESSION, start and end at the local time now. The SCU is the one of
tests/integration/test_mpps.py (DCMTK has no MPPS SCU tool; pynetdicom is not packaged).

Usage: mpps_scu.py PORT MPPS_UID ACCESSION STATION_AE PATIENT_ID PATIENT_NAME [COMPLETED|DISCONTINUED]
Prints one JSON line per request: {"status", "comment"}; exits 1 when one is not 0x0000.
"""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import test_mpps as m  # noqa: E402


def main(argv):
    port, uid, accession, station, patient_id, patient_name = int(argv[1]), argv[2], argv[3], argv[4], argv[5], argv[6]
    final = argv[7] if len(argv) > 7 else ""
    now = datetime.datetime.now()
    start = (now.strftime("%Y%m%d"), (now - datetime.timedelta(minutes=6)).strftime("%H%M%S"))
    ds = m.create_dataset("IN PROGRESS", accession=accession, start=start)
    ds.PerformedStationAETitle = station
    ds.PatientID, ds.PatientName = patient_id, patient_name
    scu = m.MppsScu(port, calling=station)
    ok = True
    try:
        for what, fn in [("create", lambda: scu.n_create(uid, ds))] + (
                [("set", lambda: scu.n_set(uid, m.set_dataset(final, end=(now.strftime("%Y%m%d"), now.strftime("%H%M%S")))))]
                if final else []):
            r = fn()
            print(json.dumps({"request": what, "status": r["status"], "comment": r["comment"]}))
            ok = ok and r["status"] == 0
    finally:
        scu.release()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
