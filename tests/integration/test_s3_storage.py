"""The object-store blob backend against a real S3-compatible server (docs/storage-backends.md).

s3rver (npm, pinned in tests/s3; scripts/setup_web.sh installs it) behind s3_front.py, which
verifies every request's Signature V4 with botocore and adds what s3rver lacks (payload and
checksum checks, AbortMultipartUpload, ListMultipartUploads). boto3 (Debian python3-boto3) is
the independent client: it writes the objects radflow reads, and reads back byte for byte
what radflow wrote. radflow's side is the S3Live suite of build/tests/radflow_objstore_tests.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from dicomweb_client import Client as DicomWebClient, parse_multipart  # noqa: E402
from s3_front import ACCESS_KEY, REGION, SECRET_KEY, S3Front, s3rver_installed  # noqa: E402

BUILD = os.path.dirname(os.environ.get("RADFLOW_BIN", os.path.join("build", "radflow")))
SUITE = os.path.join(BUILD, "tests", "radflow_objstore_tests")
if not os.path.exists(SUITE):  # RADFLOW_BIN a copy outside the build folder: the tree's own build
    SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "tests",
                         "radflow_objstore_tests")


class S3StorageTest(unittest.TestCase):
    def setUp(self):
        if shutil.which("node") is None:
            self.skipTest("no node (scripts/setup_web.sh installs it)")
        self.assertTrue(s3rver_installed(), "tests/s3/node_modules/s3rver missing: run scripts/setup_web.sh")
        self.assertTrue(os.path.exists(SUITE), SUITE + " is not built")
        self.work = tempfile.mkdtemp(prefix="radflow-s3-work-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def _files(self):
        inputs = {
            "small.bin": os.urandom(1000),
            # 11 MiB + 123 bytes: three parts of 5, 5 and 1 MiB at the suite's 5 MiB part size.
            "multi.bin": os.urandom(11 * 1024 * 1024 + 123),
            "boto-written.bin": os.urandom(300 * 1024 + 7),
        }
        for name, data in inputs.items():
            with open(os.path.join(self.work, name), "wb") as f:
                f.write(data)
        return inputs

    def test_radflow_and_boto3_agree_on_every_object(self):
        inputs = self._files()
        with S3Front() as s3:
            boto = s3.boto3_client()
            boto.put_object(Bucket=s3.bucket, Key="boto/written.bin", Body=inputs["boto-written.bin"])
            for i in range(7):
                boto.put_object(Bucket=s3.bucket, Key="list/%02d" % i, Body=b"%d" % i)
            s3.flaky["radflow/flaky.bin"] = 2   # two 503s, then the third attempt succeeds
            s3.flaky["radflow/down.bin"] = 100  # never recovers within the attempts
            s3.verified.clear()
            env = dict(os.environ, RADFLOW_S3_TEST_ENDPOINT=s3.endpoint, RADFLOW_S3_TEST_BUCKET=s3.bucket,
                       RADFLOW_S3_TEST_WORK=self.work, AWS_ACCESS_KEY_ID=ACCESS_KEY,
                       AWS_SECRET_ACCESS_KEY=SECRET_KEY)
            for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
                env.pop(name, None)
            run = subprocess.run([SUITE, "--gtest_filter=S3Live.*"], env=env, capture_output=True, text=True,
                                 timeout=300)
            out = run.stdout + run.stderr
            self.assertEqual(run.returncode, 0, out[-6000:])
            self.assertIn("[  PASSED  ] 11 tests", out, out[-3000:])
            self.assertNotIn("SKIPPED", out)

            # boto3 reads back what radflow wrote, byte for byte.
            for key, name in (("radflow/small.bin", "small.bin"), ("radflow/multi.bin", "multi.bin")):
                got = boto.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
                self.assertEqual(len(got), len(inputs[name]), key)
                self.assertTrue(got == inputs[name], key + " differs")
            ranged = boto.get_object(Bucket=s3.bucket, Key="radflow/multi.bin", Range="bytes=5242870-5242889")
            self.assertEqual(ranged["Body"].read(), inputs["multi.bin"][5242870:5242890])  # across parts 1|2
            self.assertEqual(boto.get_object(Bucket=s3.bucket, Key="radflow/odd name $+\u00e9.txt")["Body"].read(),
                             b"odd")
            self.assertEqual(boto.get_object(Bucket=s3.bucket, Key="radflow/vhost.bin")["Body"].read(),
                             b"virtual-hosted")
            # ObjectBlobStore's committed blobs are objects under its prefix; the removed one is gone.
            with open(os.path.join(self.work, "committed.txt")) as f:
                lines = f.read().split("\n")
            kept, removed = lines[:2], lines[2].split(" ", 1)[1]
            self.assertEqual(boto.get_object(Bucket=s3.bucket, Key="blobs/" + kept[0])["Body"].read(), b"a" * 1000)
            self.assertEqual(boto.get_object(Bucket=s3.bucket, Key="blobs/" + kept[1])["Body"].read(), b"c" * 1000)
            with self.assertRaises(boto.exceptions.NoSuchKey):
                boto.get_object(Bucket=s3.bucket, Key="blobs/" + removed)
            # Nothing was left behind by the failed (aborted) multipart upload.
            self.assertEqual(s3.uploads(), [])
            keys = [o["Key"] for o in boto.list_objects_v2(Bucket=s3.bucket, Prefix="radflow/")["Contents"]]
            self.assertNotIn("radflow/failed.bin", keys)
            self.assertNotIn("radflow/never.bin", keys)
            self.assertIn("radflow/flaky.bin", keys)
            self.assertNotIn("radflow/down.bin", keys)
            self.assertEqual(s3.flaky["radflow/flaky.bin"], 0)
            self.assertEqual(s3.flaky["radflow/down.bin"], 100 - 4)  # max_attempts = 4, no more

            # Every request radflow made was verified by botocore's signer; the only rejected
            # ones are those the suite sent with a wrong secret or an unknown key on purpose.
            self.assertGreater(len(s3.verified), 30)
            multipart = [p for _, p, _ in s3.verified if "partNumber=" in p]
            self.assertGreaterEqual(len(multipart), 3)
            # Virtual-hosted addressing reached the server as BUCKET.s3.localhost.
            self.assertTrue(any(h.startswith(s3.bucket + ".s3.localhost:") for _, _, h in s3.verified))
            reasons = {r for _, _, r in s3.rejected}
            self.assertTrue(reasons <= {"SignatureDoesNotMatch", "InvalidAccessKeyId"}, s3.rejected)
            self.assertIn("SignatureDoesNotMatch", reasons)

    def test_front_rejects_what_s3_would(self):
        # The front is the signature check of these tests: show that it rejects a wrong
        # secret and a tampered body from boto3 too, not only from radflow.
        import boto3
        from botocore.config import Config
        with S3Front() as s3:
            wrong = boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id=ACCESS_KEY,
                                 aws_secret_access_key="not-the-secret", region_name="us-east-1",
                                 config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
            with self.assertRaises(Exception) as caught:
                wrong.put_object(Bucket=s3.bucket, Key="x", Body=b"x")
            self.assertIn("SignatureDoesNotMatch", str(caught.exception))
            good = s3.boto3_client()
            good.put_object(Bucket=s3.bucket, Key="x", Body=b"x")
            self.assertEqual(good.get_object(Bucket=s3.bucket, Key="x")["Body"].read(), b"x")


DICOM_PARTS = 'multipart/related; type="application/dicom"; transfer-syntax=*'
BLOB_KEY = re.compile(r"^site-a/[0-9a-f]{2}/[0-9a-f]{32}\.dcm$")


class S3ServeTest(h.ServerTestCase):
    """`radflow serve --storage s3://BUCKET/PREFIX --s3-endpoint URL` end to end: DIMSE and
    DICOMweb in and out, the objects in the bucket (boto3), a cleared node-local cache, and
    `radflow check [--repair]` with an orphan object and a stale multipart upload."""

    def setUp(self):
        super().setUp()
        if shutil.which("node") is None:
            self.skipTest("no node (scripts/setup_web.sh installs it)")
        self.assertTrue(s3rver_installed(), "tests/s3/node_modules/s3rver missing: run scripts/setup_web.sh")
        # The credentials reach radflow through the environment only (never its command line).
        creds = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION}
        for env in (os.environ, h.DCMTK_ENV):
            saved = {k: env.get(k) for k in list(creds) + ["AWS_SESSION_TOKEN", "AWS_PROFILE"]}
            env.update(creds)
            env.pop("AWS_SESSION_TOKEN", None)
            env.pop("AWS_PROFILE", None)
            self.addCleanup(lambda env=env, saved=saved: [env.pop(k, None) if v is None else env.__setitem__(k, v)
                                                           for k, v in saved.items()])

    def _keys(self, boto, bucket, prefix="site-a/"):
        keys, token = {}, None
        while True:
            kw = {"Bucket": bucket, "Prefix": prefix}
            if token:
                kw["ContinuationToken"] = token
            page = boto.list_objects_v2(**kw)
            keys.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    def test_serve_on_s3(self):
        files = h.dicom_files(h.series_dir("ct_head_ge_tilt"))
        uids = {h.read_dataset(p, stop_before_pixels=True).SOPInstanceUID: p for p in files}
        first = h.read_dataset(files[0], stop_before_pixels=True)
        study, series = first.StudyInstanceUID, first.SeriesInstanceUID
        stow_file = h.dicom_files(h.series_dir("mr_brain_t1_siemens"))[0]
        orphan_file = h.dicom_files(h.series_dir("ct_lung_ibsi_pat1"))[0]
        with S3Front() as s3:
            boto = s3.boto3_client()
            storage = ["--storage", "s3://%s/site-a" % s3.bucket, "--s3-endpoint", s3.endpoint]
            srv = h.RadflowServer(extra_args=storage)
            self.start(srv)
            data = srv.data_dir

            # C-STORE of a real CT series: every instance acknowledged, each an object.
            proc, status = h.storescu(srv.dicom_port, files)
            self.assertEqual(set(status.values()), {"Success"}, proc.stdout[-3000:])
            self.assertEqual(len(status), len(files))
            keys = self._keys(boto, s3.bucket)
            self.assertEqual(len(keys), len(uids), sorted(keys)[:5])
            self.assertTrue(all(BLOB_KEY.match(k) for k in keys), sorted(keys)[:5])
            self.assertEqual(h.blob_files(data), [])  # nothing in DATA/blobs
            with open(srv.log_path, errors="replace") as f:
                log = f.read()
            self.assertIn("blobs: s3://%s/site-a" % s3.bucket, log)
            self.assertNotIn(SECRET_KEY, log)  # the secret is never printed

            web = DicomWebClient(srv.http_port)
            self.addCleanup(web.close)

            def retrieve_series():
                r = web.get("studies/%s/series/%s" % (study, series), accept=DICOM_PARTS)
                self.assertEqual(r.status, 200, r.body[:300])
                got = {}
                for _, part in parse_multipart(r.body, r.headers["content-type"]):
                    path = os.path.join(self.tmp, "part.dcm")
                    with open(path, "wb") as f:
                        f.write(part)
                    ds = h.read_dataset(path)
                    got[ds.SOPInstanceUID] = ds
                return got

            self.tmp = tempfile.mkdtemp(prefix="radflow-s3-serve-")
            self.addCleanup(shutil.rmtree, self.tmp, True)
            # QIDO-RS
            r = web.qido("studies/%s/series/%s/instances" % (study, series))
            self.assertEqual(r.status, 200, r.body[:300])
            found = {i["00080018"]["Value"][0] for i in json.loads(r.body)}
            self.assertEqual(found, set(uids))
            # WADO-RS: the series, an instance, a frame: the pixels of the files sent.
            got = retrieve_series()
            self.assertEqual(set(got), set(uids))
            for uid, ds in list(got.items())[:5]:
                self.assertEqual(ds.PixelData, h.pixel_data(uids[uid]), uid)
            uid0 = sorted(uids)[0]
            one = web.get("studies/%s/series/%s/instances/%s" % (study, series, uid0), accept=DICOM_PARTS)
            self.assertEqual(one.status, 200)
            self.assertEqual(len(parse_multipart(one.body, one.headers["content-type"])), 1)
            ds0 = h.read_dataset(uids[uid0])
            frame = web.get("studies/%s/series/%s/instances/%s/frames/1" % (study, series, uid0),
                            accept='multipart/related; type="application/octet-stream"')
            self.assertEqual(frame.status, 200, frame.body[:300])
            (_, pixels), = parse_multipart(frame.body, frame.headers["content-type"])
            self.assertEqual(len(pixels), ds0.Rows * ds0.Columns * ds0.BitsAllocated // 8)

            # STOW-RS: one more object under the prefix.
            r = web.stow_files([stow_file])
            self.assertEqual(r.status, 200, r.body[:500])
            self.assertEqual(len(self._keys(boto, s3.bucket)), len(uids) + 1)

            # The node-local cache cleared (a restart on a fresh disk): the series still comes
            # back whole, read through from the bucket; and by C-GET.
            srv.stop()
            shutil.rmtree(os.path.join(data, "blob-cache"))
            srv.start()
            web.port = srv.http_port
            web.close()
            got = retrieve_series()
            self.assertEqual(set(got), set(uids))
            self.assertEqual(got[uid0].PixelData, ds0.PixelData)
            cached = sum(len(n) for _, _, n in os.walk(os.path.join(data, "blob-cache")))
            self.assertGreaterEqual(cached, len(uids))
            out_dir = os.path.join(self.tmp, "cget")
            os.makedirs(out_dir)
            proc = h.getscu(srv.dicom_port, out_dir, "SERIES", [("StudyInstanceUID", study),
                                                                ("SeriesInstanceUID", series)])
            self.assertEqual(len(h.received_files(out_dir)), len(uids), proc.stdout[-2000:])
            srv.stop()

            # `radflow check` on the bucket: clean.
            check = h.radflow_cli("check", "--data", data, *storage)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertIn("0 problem(s)", check.stdout)
            self.assertIn("%d blobs" % (len(uids) + 1), check.stdout)
            # A command that reads a stored series (register, app run) keeps its private
            # cache, and so the files it was handed, until it has read them.
            reg = h.radflow_cli("register", "--threads", "2", "--rigid-only", "--fixed", series,
                                "--moving", series, "--data", data, *storage, timeout=300)
            self.assertEqual(reg.returncode, 0, reg.stdout + reg.stderr)
            self.assertIn("matrix", json.loads(reg.stdout))
            # A command beside the server reads through a cache of its own, gone when it ends.
            self.assertEqual([n for n in os.listdir(os.path.join(data, "tmp", "objstore")) if n.startswith("cache-")], [])

            # An object without a row (a node crashed between the upload and its index
            # commit), older than a minute; and a multipart upload older than an hour.
            orphan_key = "site-a/ab/" + "ab" + "0" * 30 + ".dcm"
            with open(orphan_file, "rb") as f:
                boto.put_object(Bucket=s3.bucket, Key=orphan_key, Body=f.read())
            stale = boto.create_multipart_upload(Bucket=s3.bucket, Key="site-a/cd/" + "cd" + "1" * 30 + ".dcm")
            young = h.radflow_cli("check", "--data", data, *storage)
            self.assertIn("younger than a minute", young.stdout)  # in flight, not a problem
            self.assertIn("0 problem(s)", young.stdout)
            # And an object lost under its row (deleted behind radflow's back).
            lost_key = sorted(self._keys(boto, s3.bucket))[0]
            boto.delete_object(Bucket=s3.bucket, Key=lost_key)
            old = time.time() - 7200
            os.utime(os.path.join(s3.data, s3.bucket, orphan_key + "._S3rver_object"), (old, old))
            os.utime(os.path.join(s3.data, s3.bucket, "._S3rver_uploads", stale["UploadId"]), (old, old))
            check = h.radflow_cli("check", "--data", data, *storage)
            self.assertEqual(check.returncode, 1, check.stdout + check.stderr)
            self.assertIn("orphan (an interrupted store, never acknowledged): ab/ab%s.dcm" % ("0" * 30), check.stdout)
            self.assertIn("stale multipart upload", check.stdout)
            self.assertIn("missing blob for instance ", check.stdout)
            self.assertIn(lost_key[len("site-a/"):], check.stdout)
            self.assertIn("3 problem(s)", check.stdout)
            repair = h.radflow_cli("check", "--data", data, "--repair", *storage)
            self.assertEqual(repair.returncode, 0, repair.stdout + repair.stderr)
            self.assertIn("re-indexed orphan ab/ab%s.dcm" % ("0" * 30), repair.stdout)
            self.assertIn("aborted multipart upload " + stale["UploadId"], repair.stdout)
            self.assertIn("removed index row of ", repair.stdout)
            self.assertEqual(s3.uploads(), [])
            keys = self._keys(boto, s3.bucket)
            self.assertNotIn(orphan_key, keys)  # indexed under a name of its own
            self.assertEqual(len(keys), len(uids) + 1)  # + STOW + re-indexed orphan - lost
            clean = h.radflow_cli("check", "--data", data, *storage)
            self.assertEqual(clean.returncode, 0, clean.stdout + clean.stderr)
            self.assertIn("0 problem(s)", clean.stdout)
            orphan_uid = h.read_dataset(orphan_file, stop_before_pixels=True).SOPInstanceUID
            srv.start()
            web.port = srv.http_port
            web.close()
            r = web.qido("instances", query={"SOPInstanceUID": orphan_uid})
            self.assertEqual(r.status, 200, r.body[:300])
            self.assertEqual(len(json.loads(r.body)), 1)

    def test_bad_storage_arguments_are_refused_with_the_reason(self):
        data = tempfile.mkdtemp(prefix="radflow-s3-bad-")
        self.addCleanup(shutil.rmtree, data, True)
        r = h.radflow_cli("check", "--data", data, "--storage", "s3://")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bucket", r.stderr.lower())
        r = h.radflow_cli("check", "--data", data, "--s3-endpoint", "http://127.0.0.1:1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--s3-endpoint needs --storage", r.stderr)


if __name__ == "__main__":
    unittest.main()
