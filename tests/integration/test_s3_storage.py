"""The object-store blob backend against a real S3-compatible server (docs/storage-backends.md).

s3rver (npm, pinned in tests/s3; scripts/setup_web.sh installs it) behind s3_front.py, which
verifies every request's Signature V4 with botocore and adds what s3rver lacks (payload and
checksum checks, AbortMultipartUpload, ListMultipartUploads). boto3 (Debian python3-boto3) is
the independent client: it writes the objects radflow reads, and reads back byte for byte
what radflow wrote. radflow's side is the S3Live suite of build/tests/radflow_objstore_tests.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_front import ACCESS_KEY, SECRET_KEY, S3Front, s3rver_installed  # noqa: E402

BUILD = os.path.dirname(os.environ.get("RADFLOW_BIN", os.path.join("build", "radflow")))
SUITE = os.path.join(BUILD, "tests", "radflow_objstore_tests")


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
            self.assertIn("[  PASSED  ] 10 tests", out, out[-3000:])
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


if __name__ == "__main__":
    unittest.main()
