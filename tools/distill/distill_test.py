"""Tests of the distillation recipe's pieces that a long run depends on: the pool
loader, the resumable lr schedule, the augmentations and the atomic shard writer.

    /usr/bin/python3 tools/distill/distill_test.py   (CTest: distill_recipe)
"""
import os
import sys
import tempfile
import types
import unittest
from unittest import mock

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import distill  # noqa: E402


def face_like(seed=0):
    """A 112x112 BGR test image with texture and FairFace-style black bands."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (112, 112, 3), dtype=np.uint8), (0, 0), 1.0)
    img = cv2.normalize(img, None, 40, 220, cv2.NORM_MINMAX)
    img[:, :14] = 0
    img[:, -14:] = 0
    return img


class WarmStartTest(unittest.TestCase):
    def test_patch16_to_patch8(self):
        import torch
        torch.manual_seed(0)
        v1 = distill.facevit.FaceViT(**distill.STUDENT).eval()
        distill.facevit.randomize(v1, 1)
        fine = dict(distill.STUDENT, patch_size=8)
        p8 = distill.facevit.FaceViT(**fine).eval()
        p8.load_state_dict(distill.adapt_state(v1.state_dict(), fine))
        # an image constant on each 16x16 patch: every sub-token equals its parent token
        x = torch.randn(2, 3, 7, 7).repeat_interleave(16, 2).repeat_interleave(16, 3)
        with torch.no_grad():
            t16 = v1.patch_embed(x)  # [B, 49, D]
            t8 = p8.patch_embed(x)   # [B, 196, D]
            parent = t16.reshape(2, 7, 7, -1).repeat_interleave(2, 1).repeat_interleave(2, 2)
            self.assertLess(float((t8 - parent.reshape(2, 196, -1)).abs().max()), 1e-4)
            # the head on sub-tokens equal to their parents gives the parent's output
            h16 = v1.feature[0](t16.reshape(2, -1))
            h8 = p8.feature[0](parent.reshape(2, -1))
            self.assertLess(float((h16 - h8).abs().max()), 1e-3)
        self.assertEqual(tuple(p8.pos_embed.shape), (1, 196, 192))
        with self.assertRaises(SystemExit):  # not a multiple
            distill.adapt_state(v1.state_dict(), dict(distill.STUDENT, patch_size=7))


    def test_width_192_to_384_keeps_embedding_and_score(self):
        import torch
        torch.manual_seed(0)
        v1 = distill.facevit.FaceViT(**distill.STUDENT).eval()
        distill.facevit.randomize(v1, 2)
        wide = dict(distill.STUDENT, embed_dim=384, num_heads=12)
        w2 = distill.facevit.FaceViT(**wide).eval()
        w2.load_state_dict(distill.widen_state(v1.state_dict(), wide, noise=0.0))
        x = torch.randn(2, 3, 112, 112)
        q1, p1, e1 = distill.facevit.vitnt_score(v1, x, 2, 6, 16.0, "attention-all", True)
        q2, p2, e2 = distill.facevit.vitnt_score(w2, x, 2, 6, 16.0, "attention-all", True)
        self.assertLess(float((e1 - e2).abs().max() / e1.abs().max()), 1e-4)
        self.assertLess(float((p1 - p2).abs().max()), 1e-4)
        self.assertLess(float((q1 - q2).abs().max()), 1e-5)
        # the symmetry-breaking noise moves the model, but only a little
        noisy = distill.facevit.FaceViT(**wide).eval()
        noisy.load_state_dict(distill.widen_state(v1.state_dict(), wide))
        with torch.no_grad():
            e3 = noisy(x)
        cos = torch.nn.functional.cosine_similarity(e1, e3)
        self.assertGreater(float(cos.min()), 0.9)
        self.assertLess(float(cos.min()), 1 - 1e-7)
        with self.assertRaises(SystemExit):  # 5 heads: the heads are not copied whole
            distill.adapt_state(v1.state_dict(), dict(wide, num_heads=5))
        with self.assertRaises(SystemExit):  # not a whole multiple of the width
            distill.adapt_state(v1.state_dict(), dict(wide, embed_dim=288, num_heads=9))

class PoolTest(unittest.TestCase):
    def test_load_pool_equals_concatenation(self):
        rng = np.random.default_rng(1)
        with tempfile.TemporaryDirectory() as d:
            ims, embs = [], []
            for i, n in enumerate([3, 5, 2]):
                im = rng.integers(0, 256, (n, 112, 112, 3), dtype=np.uint8)
                em = rng.normal(size=(n, 512)).astype(np.float16)
                distill.save_npz_atomic(os.path.join(d, f"shard{i:03d}.npz"),
                                        images=im, teacher=em)
                ims.append(im)
                embs.append(em)
            self.assertEqual(sorted(os.listdir(d)),
                             ["shard000.npz", "shard001.npz", "shard002.npz"])  # no .tmp left
            self.assertEqual(distill.npz_shape(os.path.join(d, "shard001.npz"), "images"),
                             (5, 112, 112, 3))
            images, targets, n_shards = distill.load_pool(d)
            self.assertEqual(n_shards, 3)
            self.assertEqual(images.numpy().dtype, np.uint8)
            np.testing.assert_array_equal(images.numpy(), np.concatenate(ims))
            np.testing.assert_array_equal(targets.numpy(),
                                          np.concatenate(embs).astype(np.float32))
            # a `prepare` killed mid-write leaves only its temporary file: the loader ignores it
            def killed(f, **_):
                with open(f, "wb") as out:
                    out.write(b"PK\x03\x04 truncated")
                raise KeyboardInterrupt

            with mock.patch.object(np, "savez", killed), self.assertRaises(KeyboardInterrupt):
                distill.save_npz_atomic(os.path.join(d, "shard003.npz"), images=im, teacher=em)
            self.assertEqual(distill.load_pool(d)[2], 3)

    def test_mismatched_shard_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            distill.save_npz_atomic(os.path.join(d, "shard000.npz"),
                                    images=np.zeros((2, 112, 112, 3), np.uint8),
                                    teacher=np.zeros((2, 512), np.float16))
            bad = os.path.join(d, "shard001.npz")
            distill.save_npz_atomic(bad, images=np.zeros((3, 112, 112, 3), np.uint8),
                                    teacher=np.zeros((2, 512), np.float16))
            with self.assertRaises(SystemExit) as e:
                distill.load_pool(d)
            self.assertIn(bad, str(e.exception))

    def test_empty_pool_names_the_folder(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(SystemExit) as e:
                distill.load_pool(d)
            self.assertIn(d, str(e.exception))


class ScheduleTest(unittest.TestCase):
    def test_decay_is_a_function_of_samples_seen(self):
        a = types.SimpleNamespace(decay_start=1000, decay_end=3000, lr_min_ratio=0.02)
        self.assertEqual(distill.decay_factor(0, a), 1.0)
        self.assertEqual(distill.decay_factor(1000, a), 1.0)
        self.assertAlmostEqual(distill.decay_factor(2000, a), 0.51)
        self.assertAlmostEqual(distill.decay_factor(3000, a), 0.02)
        self.assertAlmostEqual(distill.decay_factor(10**9, a), 0.02)
        a.decay_end = 0  # no decay given: a plateau
        self.assertEqual(distill.decay_factor(10**9, a), 1.0)


class AugmentTest(unittest.TestCase):
    def test_every_degradation_keeps_the_format_and_grows_with_severity(self):
        img = face_like()
        lap = lambda x: cv2.Laplacian(cv2.cvtColor(x, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
        for kind in distill.DEGRADATIONS + distill.TRAIN_ONLY_DEGRADATIONS:
            mild = distill.degrade(img, np.random.default_rng(2), kind, 0.1)
            hard = distill.degrade(img, np.random.default_rng(2), kind, 1.0)
            for out in (mild, hard):
                self.assertEqual((out.shape, out.dtype), (img.shape, np.uint8), kind)
            err = lambda x: np.abs(x.astype(float) - img).mean()
            self.assertGreater(err(hard), err(mild), kind)
        self.assertLess(lap(distill.degrade(img, np.random.default_rng(2), "blur", 1.0)),
                        lap(distill.degrade(img, np.random.default_rng(2), "blur", 0.1)))
        self.assertLess(distill.degrade(img, np.random.default_rng(3), "lowlight", 1.0).mean(),
                        0.5 * img.mean())
        with self.assertRaises(ValueError):
            distill.degrade(img, np.random.default_rng(0), "fog", 0.5)

    def test_yaw_moves_columns_only_in_order_and_compresses_one_side(self):
        # each column's value is its index: a turn may move and stretch columns, never
        # mix two of them across rows or reverse their order
        cols = np.tile((np.arange(112) * 2).astype(np.uint8)[None, :, None], (112, 1, 3))
        for seed in range(6):
            out = distill.degrade(cols, np.random.default_rng(seed), "yaw", 0.8).astype(int)
            row = out[56, :, 0]
            self.assertTrue((np.abs(out[:, :, 0] - row[None, :]) <= 1).all(), seed)
            self.assertTrue((np.diff(row) >= -1).all(), seed)
            self.assertGreater(np.abs(row - np.arange(112) * 2).max(), 10, seed)
            # one half of the face is narrower than the other: the far side
            left, right = row[56] - row[20], row[92] - row[56]
            self.assertGreater(max(left, right) / max(1, min(left, right)), 1.3, seed)
        # rows: a turn keeps the horizon (the centre row) and scales the rest a little
        rows = np.tile((np.arange(112) * 2).astype(np.uint8)[:, None, None], (1, 112, 3))
        out = distill.degrade(rows, np.random.default_rng(1), "yaw", 1.0).astype(int)
        self.assertTrue((np.abs(out[56, :, 0] - 112) <= 1).all())
        self.assertTrue((np.abs(out[:, :, 0] - np.arange(112)[:, None] * 2) <= 16).all())

    def test_black_bands_are_filled(self):
        img = face_like()
        band = distill.band_mask(img)
        self.assertGreater(band.mean(), 0.2)
        filled = 0
        for seed in range(20):
            out = distill.fill_bands(img, face_like(seed + 1), np.random.default_rng(seed))
            self.assertEqual(out.shape, img.shape)
            filled += out[band].max() > 10
        self.assertGreaterEqual(filled, 14)  # 90 % are filled; the rest stay as they were

    def test_augment_keeps_the_format(self):
        rng = np.random.default_rng(4)
        for i in range(10):
            out = distill.augment(face_like(i), face_like(i + 100), rng)
            self.assertEqual((out.shape, out.dtype), ((112, 112, 3), np.uint8))
        # a pool's kinds reach the degradation; the evaluation recipe's stay the default
        with mock.patch.object(distill, "degrade", wraps=distill.degrade) as deg:
            for i in range(20):
                distill.augment(face_like(i), face_like(i + 100), rng, ["misalign"])
        self.assertTrue(deg.call_args_list)
        self.assertTrue(all(c.kwargs["kinds"] == ["misalign"] for c in deg.call_args_list))
        self.assertNotIn("misalign", distill.DEGRADATIONS)
        with self.assertRaises(SystemExit) as e:
            distill.cmd_prepare(types.SimpleNamespace(first=0, shards=1, threads=1,
                                                      out="unused", degradations="blur,fog"))
        self.assertIn("fog", str(e.exception))


class QualityLossTest(unittest.TestCase):
    """The quality-aware loss (train --q-weight): its Q must be the scorer's Q."""

    def test_forward_q_equals_the_reference_scorer(self):
        import torch
        torch.manual_seed(0)
        model = distill.facevit.FaceViT(**distill.STUDENT).eval()
        distill.facevit.randomize(model, 3)
        x = torch.randn(3, 3, 112, 112)
        for agg in ("attention-last", "attention-all", "uniform"):
            with torch.no_grad():
                emb, Q = distill.forward_q(model, x, 2, 6, 16.0, agg)
            ref_Q, _, ref_emb = distill.facevit.vitnt_score(model, x, 2, 6, 16.0, agg,
                                                            embedding=True)
            self.assertLess(float((Q - ref_Q).abs().max()), 1e-6, agg)
            self.assertLess(float((emb - ref_emb).abs().max()), 1e-4, agg)
            # the settings search's Q (from per-block statistics) is the same Q
            rgb = ((x.permute(0, 2, 3, 1) * 0.5 + 0.5).clamp(0, 1) * 255).round()
            rgb = rgb.to(torch.uint8).numpy()
            d, w = distill.block_statistics(model, rgb)
            ref_u8, _, _ = distill.facevit.vitnt_score(
                model, distill.to_input(torch.from_numpy(rgb)), 2, 6, 16.0, agg,
                embedding=True)
            np.testing.assert_allclose(distill.score_from_statistics(d, w, 2, 6, 16.0, agg),
                                       ref_u8.numpy(), atol=1e-6, err_msg=agg)
        # and it is differentiable down to the patch embedding
        model.train()
        emb, Q = distill.forward_q(model, x, 2, 6, 16.0, "attention-last")
        Q.sum().backward()
        self.assertGreater(float(model.patch_embed.proj.weight.grad.abs().sum()), 0)

    def test_pearson_loss(self):
        import torch
        a = torch.tensor([0.1, 0.4, 0.2, 0.9])
        self.assertAlmostEqual(float(distill.pearson_loss(a, 3 * a + 1)), 0.0, places=5)
        self.assertAlmostEqual(float(distill.pearson_loss(a, -a)), 2.0, places=5)
        b = torch.tensor([0.3, 0.1, 0.5, 0.2])
        self.assertAlmostEqual(float(distill.pearson_loss(a, b)),
                               float(distill.pearson_loss(10 * a, b)), places=5)

    def test_settings_parse_and_refuse(self):
        self.assertEqual(distill.parse_q_settings("2:6:16:attention-last"),
                         (2, 6, 16.0, "attention-last"))
        for bad in ("2:6:16", "6:2:16:uniform", "2:6:16:max", "a:6:16:uniform"):
            with self.assertRaises(SystemExit, msg=bad):
                distill.parse_q_settings(bad)

    def test_train_with_q_weight_runs_logs_and_resumes(self):
        rng = np.random.default_rng(5)
        unit = lambda n: (lambda e: e / np.linalg.norm(e, axis=1, keepdims=True))(
            rng.normal(size=(n, 512)).astype(np.float32))
        with tempfile.TemporaryDirectory() as d:
            pool, ck = os.path.join(d, "pool"), os.path.join(d, "ck")
            os.makedirs(pool)
            for k in range(2):  # 2 shards of the same 6 "train images"
                distill.save_npz_atomic(
                    os.path.join(pool, f"shard{k:03d}.npz"),
                    images=rng.integers(0, 256, (6, 112, 112, 3), dtype=np.uint8),
                    teacher=unit(6).astype(np.float16))
            distill.save_npz_atomic(os.path.join(pool, "ref.npz"),
                                    teacher=unit(6).astype(np.float16))
            distill.save_npz_atomic(
                os.path.join(pool, "val.npz"),
                clean=rng.integers(0, 256, (5, 112, 112, 3), dtype=np.uint8),
                degraded=rng.integers(0, 256, (5, 112, 112, 3), dtype=np.uint8),
                teacher_clean=unit(5), teacher_degraded=unit(5))
            args = types.SimpleNamespace(
                pool=pool, ckpt=ck, init_from=None, patch_size=None, embed_dim=None,
                depth=None, heads=None, threads=1, batch=4, lr=1e-4, warmup=1,
                decay_start=0, decay_end=0, lr_min_ratio=0.02, ema=0.999, rel=1.0,
                bf16=False, log_every=1, val_every=2, ckpt_minutes=10, max_samples=8,
                q_weight=0.5, q_clean=0, q_clean_turned=0.0, q_rank=0.0, q_rank_pairs=32,
                q_settings="2:6:16:attention-last")
            distill.cmd_train(args)
            with open(os.path.join(ck, "log.tsv")) as f:
                rows = [r.split("\t") for r in f]
            self.assertEqual([r[0] for r in rows], ["0", "2"])
            self.assertTrue(all(len(r) == 6 and -1 <= float(r[5]) <= 1 for r in rows))
            args.max_samples = 16  # resumes from last.pt at step 2 (logged: no new row there)
            distill.cmd_train(args)
            with open(os.path.join(ck, "log.tsv")) as f:
                self.assertEqual([r.split("\t")[0] for r in f], ["0", "2", "4"])
            # the clean-image term: 6 "train images" on disk, their teacher embeddings made
            files, ff = [], os.path.join(d, "data", "fairface112")
            os.makedirs(os.path.join(ff, "train"))
            with open(os.path.join(ff, "manifest.tsv"), "w") as f:
                f.write("path\tx1\ty1\tx2\ty2\tx3\n")
                for i in range(6):  # face i's nose i px off the eyes' midpoint
                    f.write(f"train/{i}.jpg\t40\t50\t80\t50\t{60 + i * (-1) ** i}\n")
            for i in range(6):
                files.append(os.path.join(ff, "train", f"{i}.jpg"))
                cv2.imwrite(files[-1], face_like(i))
            manifest = os.path.join(ff, "manifest.tsv")
            np.testing.assert_array_equal(distill.turned_faces(files, manifest, 0.34), [5, 4])
            np.testing.assert_array_equal(distill.turned_faces(files[:3], manifest, 0.1), [2])
            with self.assertRaises(SystemExit) as e:
                distill.turned_faces(files + [os.path.join(ff, "train", "9.jpg")], manifest, 0.1)
            self.assertIn("train/9.jpg", str(e.exception))
            bad_manifest = os.path.join(d, "no_landmarks.tsv")
            with open(bad_manifest, "w") as f:
                f.write("path\tidentity\n")
            with self.assertRaises(SystemExit) as e:
                distill.turned_faces(files, bad_manifest, 0.1)
            self.assertIn("no_landmarks.tsv: no column x1, x2, x3", str(e.exception))
            own = unit(6)
            distill.save_npz_atomic(os.path.join(pool, "clean_ref.npz"),
                                    teacher=own.astype(np.float16))
            with mock.patch.object(distill, "list_images", lambda split: files):
                ref = distill.train_references(pool, 12)
                imgs, util = distill.clean_set(pool, ref)
                self.assertEqual(tuple(imgs.shape), (6, 112, 112, 3))
                np.testing.assert_array_equal(imgs[2].numpy(), cv2.imread(files[2])[..., ::-1])
                np.testing.assert_allclose(
                    util.numpy(), (own.astype(np.float16).astype(np.float32) *
                                   ref.numpy()).sum(1), atol=1e-6)
                args.ckpt, args.max_samples, args.q_clean = os.path.join(d, "ck2"), 8, 3
                distill.cmd_train(args)
                # and with a third of them from the most turned faces (the manifest above)
                with mock.patch.object(distill, "SHARED", d), \
                        mock.patch.object(distill, "turned_faces",
                                          wraps=distill.turned_faces) as turned:
                    distill.cmd_train(types.SimpleNamespace(
                        **dict(vars(args), ckpt=os.path.join(d, "ck4"), q_clean_turned=0.34)))
                self.assertEqual(turned.call_args.args[1], manifest)
                # the ranking term alone (no clean Pearson term): loads the clean images,
                # adds 2 pairs of mild variants to the pass, and logs its loss
                with mock.patch.object(distill, "mild_pairs",
                                       wraps=distill.mild_pairs) as pairs:
                    distill.cmd_train(types.SimpleNamespace(
                        **dict(vars(args), ckpt=os.path.join(d, "ck5"), q_clean=0,
                               q_rank=1.0, q_rank_pairs=2)))
                self.assertEqual(pairs.call_count, 2)  # 8 samples, batch 4
                self.assertEqual(pairs.call_args.args[0].shape, (2, 112, 112, 3))
            with open(os.path.join(d, "ck5", "log.tsv")) as f:
                self.assertEqual([r.split("\t")[0] for r in f], ["0", "2"])
            with open(os.path.join(d, "ck2", "log.tsv")) as f:
                self.assertEqual([r.split("\t")[0] for r in f], ["0", "2"])
            with open(os.path.join(d, "ck4", "log.tsv")) as f:
                self.assertEqual([r.split("\t")[0] for r in f], ["0", "2"])
            # options that cannot work are refused before any training
            for bad in (dict(q_settings="2:12:16:uniform"), dict(q_weight=0.0, q_clean=3),
                        dict(q_clean=0, q_clean_turned=0.5), dict(q_clean=3, q_clean_turned=1.5),
                        dict(q_weight=0.0, q_clean=0, q_rank=1.0), dict(q_rank=-1.0),
                        dict(q_rank=1.0, q_rank_pairs=0)):
                with self.assertRaises(SystemExit, msg=str(bad)) as e:
                    distill.cmd_train(types.SimpleNamespace(
                        **dict(vars(args), ckpt=os.path.join(d, "ck3"), **bad)))
                self.assertTrue(str(e.exception).startswith("--q"), str(e.exception))
            # references that do not fit the pool's shards are refused, naming the file
            distill.save_npz_atomic(os.path.join(pool, "ref.npz"),
                                    teacher=unit(5).astype(np.float16))
            with self.assertRaises(SystemExit) as e:
                distill.train_references(pool, 12)
            self.assertIn("ref.npz", str(e.exception))


class RankingTermTest(unittest.TestCase):
    """train --q-rank: the label-free ranking of mild variants, and its train-only family."""

    def test_rank_loss_penalises_reversed_pairs_only(self):
        import torch
        less = torch.tensor([0.60, 0.55, 0.70])
        more = less - 0.05  # every pair ordered, by 0.05 = 1 unit of scale 0.05
        right = float(distill.rank_loss(less, more, torch.tensor(0.05)))
        self.assertLess(right, 1e-3)
        wrong = float(distill.rank_loss(more, less, torch.tensor(0.05)))  # reversed
        self.assertGreater(wrong, 1.0)  # ~ margin + 1
        tied = float(distill.rank_loss(less, less, torch.tensor(0.05)))
        self.assertGreater(tied, right)
        self.assertLess(tied, wrong)
        # scale-free: the same pairs at 10x the Q range give the same loss
        self.assertAlmostEqual(float(distill.rank_loss(10 * more, 10 * less,
                                                       torch.tensor(0.5))), wrong, places=4)
        # and its gradient raises the less degraded variant's Q and lowers the other's
        a, b = more.clone().requires_grad_(), less.clone().requires_grad_()
        distill.rank_loss(a, b, torch.tensor(0.05)).backward()
        self.assertTrue(bool((a.grad < 0).all()) and bool((b.grad > 0).all()))

    # the evaluation recipe's ranges (distill.degrade, used by tools/eval), checked below
    # against what `degrade` really does
    EVAL = {"blur": (0.5, 4.0), "downup": (1.5, 8.0), "jpeg": (45.0, 5.0),
            "noise": (4.0, 40.0), "dim": (1.0, 0.2)}

    def test_eval_ranges_are_what_degrade_does(self):
        img = face_like(1)
        rng = np.random.default_rng(0)
        for s, sigma in ((0.0, 0.5), (1.0, 4.0)):
            np.testing.assert_array_equal(distill.degrade(img, rng, "blur", s),
                                          cv2.GaussianBlur(img, (0, 0), sigma))
        for s, q in ((0.0, 45), (1.0, 5)):
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
            np.testing.assert_array_equal(distill.degrade(img, rng, "jpeg", s),
                                          cv2.imdecode(buf, cv2.IMREAD_COLOR))
        flat = np.full((112, 112, 3), 128, np.uint8)
        for s, sigma in ((0.0, 4.0), (1.0, 40.0)):
            got = distill.degrade(flat, rng, "noise", s).astype(float).std()
            self.assertLess(abs(got - sigma) / sigma, 0.1)
        small = distill.degrade(img, rng, "downscale", 1.0)  # 112 / 8 = 14 px
        np.testing.assert_array_equal(small, cv2.resize(cv2.resize(
            img, (14, 14), interpolation=cv2.INTER_AREA), (112, 112),
            interpolation=cv2.INTER_LINEAR))

    def test_mild_family_is_train_only_and_apart_from_the_evaluation_recipe(self):
        self.assertEqual(set(distill.MILD_KINDS), set(self.EVAL))
        for kind, (lo, hi) in distill.MILD_RANGES.items():
            elo, ehi = self.EVAL[kind]
            self.assertNotEqual(lo, elo, kind)
            self.assertNotEqual(hi, ehi, kind)
        # the mild range lies inside the train ranges (blur 0.5-3 up to 2.8,
        # down-up 1.2-3x, JPEG 30-70, noise 2-8)
        self.assertLessEqual(distill.MILD_RANGES["blur"][0], 0.5)
        self.assertLessEqual(distill.MILD_RANGES["downup"][0], 1.2)
        self.assertGreaterEqual(distill.MILD_RANGES["downup"][1], 3.0)
        self.assertLessEqual(distill.MILD_RANGES["jpeg"][1], 30)
        self.assertGreaterEqual(distill.MILD_RANGES["jpeg"][0], 70)
        self.assertLessEqual(distill.MILD_RANGES["noise"][0], 2)
        self.assertGreaterEqual(distill.MILD_RANGES["noise"][1], 8)
        # separate code: the mild family never calls `degrade`, and no evaluation
        # script uses the mild family
        img = face_like(2)[..., ::-1].copy()
        with mock.patch.object(distill, "degrade", side_effect=AssertionError("degrade")):
            less, more = distill.mild_pairs(np.stack([img] * 20), np.random.default_rng(0))
        ev = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval")
        for f in os.listdir(ev):
            if f.endswith((".py", ".sh")):
                with open(os.path.join(ev, f)) as fh:
                    text = fh.read()
                for name in ("mild_degrade", "mild_pairs", "MILD_RANGES", "MILD_KINDS"):
                    self.assertNotIn(name, text, f)
        # every pair: the 'more' variant is further from the crop than the 'less' one
        dist = lambda x: np.abs(x.astype(float) - img.astype(float)).mean()
        for lo, hi in zip(less, more):
            self.assertLess(dist(lo), dist(hi))
        # and severity is monotonic for each kind (the same noise field)
        field = np.random.default_rng(1).standard_normal(img.shape).astype(np.float32)
        for kind in distill.MILD_KINDS:
            d = [dist(distill.mild_degrade(img, kind, u, field)) for u in (0.0, 0.3, 0.6, 1.0)]
            self.assertEqual(d[0], 0.0, kind)
            self.assertTrue(all(x < y for x, y in zip(d, d[1:])), (kind, d))


class Glint12GateTest(unittest.TestCase):
    """glint12_gate.py's pAUC and threshold, against a direct reading of their definition
    (the script also checks them against `vitnt eval`'s own figures on every run)."""

    def test_threshold_and_pauc_follow_the_definition(self):
        import glint12_gate as gate
        rng = np.random.default_rng(0)
        imp = np.round(rng.normal(0, 1, 2000), 2)  # ties on purpose
        t = gate.threshold(imp, 1e-2)
        self.assertLessEqual((imp > t).mean(), 1e-2)
        self.assertTrue(all((imp > v).mean() > 1e-2 for v in imp if v < t))
        g = 250
        fail = rng.random(g) < 0.3
        q = np.round(rng.random(g), 1)  # ties: resolved by input order
        order = sorted(range(g), key=lambda i: (q[i], i))
        r = [i / 1000 for i in range(301)]
        fnmr = []
        for x in r:
            kept = order[int(np.floor(x * g + 1e-9)):]
            fnmr.append(sum(fail[i] for i in kept) / len(kept))
        ref = sum((fnmr[i] + fnmr[i + 1]) / 2 * (r[i + 1] - r[i]) for i in range(300))
        self.assertAlmostEqual(gate.pauc(fail, q), ref, places=12)
        # discarding by a perfect quality beats discarding at random
        self.assertLess(gate.pauc(fail, (~fail).astype(float)), gate.pauc(fail, rng.random(g)))
        boot = gate.bootstrap({"a": fail}, {"a": q}, 50, 0)["a"]
        self.assertEqual(len(boot), 50)
        self.assertLess(boot.min(), gate.pauc(fail, q))
        self.assertGreater(boot.max(), gate.pauc(fail, q))


class SoupTest(unittest.TestCase):
    def test_soup_averages_ema_weights_and_refuses_strangers(self):
        import torch
        small = dict(distill.STUDENT, depth=2)
        with tempfile.TemporaryDirectory() as d:
            emas = []
            for i, student in enumerate((small, small, dict(small, depth=3))):
                torch.manual_seed(i)
                ema = distill.facevit.FaceViT(**student).state_dict()
                emas.append(ema)
                os.makedirs(os.path.join(d, f"r{i}"))
                distill.save_ckpt(os.path.join(d, f"r{i}", "last.pt"),
                                  {"model": ema, "ema": ema, "opt": {}, "step": 10 * (i + 1),
                                   "seen": 100 * (i + 1), "student": student})
            run = lambda out, *src, weights=None: distill.cmd_soup(types.SimpleNamespace(
                ckpt=os.path.join(d, out), weights=weights,
                src=[os.path.join(d, s) for s in src]))
            run("s", "r0", "r1", weights="1,3")
            st = torch.load(os.path.join(d, "s", "last.pt"))
            self.assertEqual((st["seen"], st["student"]), (200, small))
            k = next(k for k, v in st["ema"].items() if v.dim() == 2)
            torch.testing.assert_close(st["ema"][k], 0.25 * emas[0][k] + 0.75 * emas[1][k])
            self.assertFalse(torch.equal(st["ema"][k], emas[1][k]))
            run("same", "r1", "r1")
            same = torch.load(os.path.join(d, "same", "last.pt"))["ema"]
            self.assertTrue(all(torch.allclose(same[k], emas[1][k], atol=1e-7) for k in same))
            for bad in (("r0", "r2"), ("r0", "missing")):
                with self.assertRaises(SystemExit) as e:
                    run("bad", *bad)
                self.assertIn(bad[1], str(e.exception))
            for bad in ("1", "1,x", "0,0", "1,-1"):
                with self.assertRaises(SystemExit, msg=bad):
                    run("bad", "r0", "r1", weights=bad)
            # a run's own checkpoint is never overwritten by a soup
            with self.assertRaises(SystemExit) as e:
                run("r0", "r0", "r1")
            self.assertIn("training checkpoint", str(e.exception))
            self.assertIn("model", torch.load(os.path.join(d, "r0", "last.pt")))
            run("s", "r0", "r1")  # an earlier soup may be replaced
            # an exported model is an ingredient too (its weights as-is, F16 as exported)
            f1 = os.path.join(d, "r1.safetensors")
            distill.st_io.save(f1, {k: v.to(torch.float16) for k, v in emas[1].items()
                                    if not k.endswith("num_batches_tracked")}, metadata={})
            run("sf", "r0", "r1.safetensors")
            sf = torch.load(os.path.join(d, "sf", "last.pt"))
            torch.testing.assert_close(sf["ema"][k], 0.5 * emas[0][k] +
                                       0.5 * emas[1][k].to(torch.float16).float())
            self.assertEqual(sf["seen"], 100)
            f2 = os.path.join(d, "r2.safetensors")  # another depth: refused, named
            distill.st_io.save(f2, {k: v for k, v in emas[2].items()
                                    if not k.endswith("num_batches_tracked")}, metadata={})
            for bad in (("r0", "r2.safetensors"), ("r1.safetensors",), ("r0", "none.safetensors")):
                with self.assertRaises(SystemExit) as e:
                    run("bad", *bad)
                self.assertIn(bad[-1] if len(bad) > 1 else "checkpoint folder", str(e.exception))
            # a soup has no optimiser state: training on from it is refused, naming it
            with self.assertRaises(SystemExit) as e:
                distill.cmd_train(types.SimpleNamespace(
                    ckpt=os.path.join(d, "s"), threads=1, patch_size=None, embed_dim=None,
                    depth=None, heads=None, lr=1e-4))
            self.assertIn("soup", str(e.exception))


class ProxyCompareTest(unittest.TestCase):
    def test_scores_are_joined_by_path_and_kinds_follow_the_settings_set(self):
        import proxy_compare
        self.assertEqual(proxy_compare.KINDS[1:], distill.DEGRADATIONS)
        with tempfile.TemporaryDirectory() as d:
            listing = os.path.join(d, "list.txt")
            with open(listing, "w") as f:
                f.write("a.png\nb.png\nc.png\n")
            with open(os.path.join(d, "q_m.csv"), "w") as f:  # rows in another order
                f.write("path,quality,scalar\nc.png,0.3,\na.png,0.1,\nb.png,0.2,\n")
            q = proxy_compare.score("/nonexistent/vitnt", "m", "m.json", listing, d)
            np.testing.assert_array_equal(q, [0.1, 0.2, 0.3])
            with open(os.path.join(d, "q_n.csv"), "w") as f:  # b.png failed to score
                f.write("path,quality,scalar\na.png,0.1,\nb.png,,\nc.png,0.3,\n")
            with self.assertRaises(SystemExit) as e:
                proxy_compare.score("/nonexistent/vitnt", "n", "n.json", listing, d)
            self.assertIn("b.png", str(e.exception))

    def test_extra_kind_set_is_built_once_from_val(self):
        import proxy_compare
        with tempfile.TemporaryDirectory() as d:
            files = []
            for i in range(3):
                files.append(os.path.join(d, f"{i}.jpg"))
                cv2.imwrite(files[-1], face_like(i))
            calls = []

            def teacher(batch):  # a stand-in embedding: unit vectors of the pixel means
                calls.append(len(batch))
                e = np.stack([b.reshape(-1, 3).mean(0) for b in batch]) + 1.0
                return e / np.linalg.norm(e, axis=1, keepdims=True)
            with mock.patch.object(distill, "list_images", lambda split: files), \
                    mock.patch.object(distill, "Teacher", lambda: teacher):
                listing, work, util = proxy_compare.extra_set("misalign", d)
                self.assertEqual(calls, [3, 3])  # mirrored references, variants
                again = proxy_compare.extra_set("misalign", d)
            self.assertEqual(calls, [3, 3])  # cached
            np.testing.assert_array_equal(again[2], util)
            with open(listing) as f:
                pngs = f.read().split()
            self.assertEqual(len(pngs), 3)
            self.assertEqual(cv2.imread(pngs[0]).shape, (112, 112, 3))
            self.assertEqual(work, os.path.join(d, "misalign"))
            self.assertFalse(np.array_equal(cv2.imread(pngs[0]), face_like(0)))
            # a work folder made for another set is refused, not silently reused
            with self.assertRaises(SystemExit) as e:
                proxy_compare.write_images(np.zeros((5, 112, 112, 3), np.uint8), work)
            self.assertIn("list.txt", str(e.exception))


if __name__ == "__main__":
    unittest.main()
