"""Peers of the reporting tests (tests/integration/test_reports.py): an HL7 v2 receiver and
sender over MLLP built on Debian's python3-hl7 (hl7.mllp, asyncio), a parser nobody here
wrote; the FHIR R4 schema validator of tests/fhir (node); TID 1500 SRs from
../shared/data/seg_sr re-identified into a study."""
import asyncio
import json
import os
import subprocess
import threading
import time

import hl7
import hl7.mllp

import harness

FHIR_DIR = os.path.join(harness.REPO, "tests", "fhir")
RSNA_SR = os.path.join(harness.DATA_ROOT, "seg_sr", "tid1500_rsna2018", "examples", "rsna2018_dataset1",
                       "sr-tid1500-ct-liver-example.dcm")


class Hl7Receiver:
    """An MLLP server (hl7.mllp.start_hl7_server) on its own thread and event loop: keeps
    every message received (its ER7 text) and answers each with python-hl7's own ACK
    (Message.create_ack, MSA-1 `ack_code`)."""

    def __init__(self, port=None, ack_code="AA"):
        self.port = port or harness.free_port()
        self.ack_code = ack_code
        self.messages = []  # ER7 text, in arrival order
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None

    def start(self):
        ready = threading.Event()
        errors = []

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)

            async def handle(reader, writer):
                try:
                    while not writer.is_closing():
                        message = await reader.readmessage()
                        with self._lock:
                            self.messages.append(str(message))
                        writer.writemessage(message.create_ack(self.ack_code))
                        await writer.drain()
                except (asyncio.IncompleteReadError, ConnectionError):
                    pass
                finally:
                    writer.close()

            try:
                self._server = self._loop.run_until_complete(
                    hl7.mllp.start_hl7_server(handle, "127.0.0.1", self.port))
            except OSError as e:
                errors.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop(self):
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None

    def received(self):
        with self._lock:
            return list(self.messages)

    def parsed(self):
        """The messages as hl7.Message (python-hl7's parser; segments split on <CR>)."""
        return [hl7.parse(m) for m in self.received()]

    def wait_for(self, count, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.received()) >= count:
                return self.parsed()
            time.sleep(0.1)
        raise AssertionError("HL7 receiver on %d: %d message(s) after %ss, expected %d"
                             % (self.port, len(self.received()), timeout, count))


def mllp_send(port, er7_text, timeout=30):
    """Sends one message with python-hl7's MLLP client (hl7.mllp.open_hl7_connection);
    returns the ACK as an hl7.Message."""
    async def exchange():
        reader, writer = await asyncio.wait_for(hl7.mllp.open_hl7_connection("127.0.0.1", port), timeout)
        try:
            writer.writemessage(hl7.parse(er7_text))
            await writer.drain()
            return await asyncio.wait_for(reader.readmessage(), timeout)
        finally:
            writer.close()
    return asyncio.run(exchange())


def segment_values(message, segment_id):
    """Every segment of that id in an hl7.Message."""
    return [s for s in message if str(s[0]) == segment_id]


def field(segment, n, component=None):
    """Field n of a python-hl7 segment as text (its first component when asked)."""
    try:
        value = segment[n]
    except IndexError:
        return ""
    if component is not None:
        try:
            return str(value[0][component - 1])
        except (IndexError, TypeError):
            return str(value) if component == 1 else ""
    return str(value)


def validate_fhir(resources, workdir):
    """Runs node tests/fhir/validate.mjs (R4 JSON schema) on each resource; returns
    {file: [errors]} and the exit code."""
    paths = []
    for i, r in enumerate(resources):
        path = os.path.join(workdir, "fhir-%d-%s.json" % (i, r.get("resourceType", "x")))
        with open(path, "w") as f:
            json.dump(r, f)
        paths.append(path)
    proc = subprocess.run(["node", os.path.join(FHIR_DIR, "validate.mjs"), *paths], cwd=FHIR_DIR,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = {"validate.mjs": [proc.stdout[-3000:]]}
    return report, proc.returncode


def fhir_validator_installed():
    return os.path.isdir(os.path.join(FHIR_DIR, "node_modules", "@asymmetrik", "fhir-json-schema-validator"))


def sr_into_study(out_path, study_uid, patient_id, patient_name, study_date, accession, source=RSNA_SR):
    """A real TID 1500 SR (RSNA 2018 interoperability set, made by dcmqi) re-identified into
    a study: new series and SOP Instance UIDs, the study's patient and UIDs."""
    pydicom = harness._pydicom()
    ds = pydicom.dcmread(source)
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = harness.new_uid()
    ds.SOPInstanceUID = harness.new_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.StudyDate = study_date
    ds.AccessionNumber = accession
    ds.SeriesNumber = 77
    ds.save_as(out_path, write_like_original=False)
    return ds.SOPInstanceUID
