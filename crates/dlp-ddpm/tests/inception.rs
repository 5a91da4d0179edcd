//! The standard FID against pytorch-fid's own code (`benches/reference/fid_reference.py`, random
//! weights saved as a `.pth`): our Inception-v3 features of the same images to 1e-4 relative,
//! and our Fréchet distance to 1e-3 on well conditioned, singular and low-rank covariances.
//! Without a Python that has torch and pytorch-fid, the comparison is skipped with the reason.
//! KID is checked against its formula computed directly.

use burn::tensor::Device;
use dlp_core::rng::Rng;
use dlp_core::testing::{reference_python, reference_script};
use dlp_ddpm::fid::{features, kid};
use dlp_ddpm::frechet::{Gaussian, frechet};
use dlp_ddpm::inception::Inception;
use safetensors::SafeTensors;
use std::process::Command;

fn f32s(st: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = st.tensor(name).unwrap();
    let v = t
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (t.shape().to_vec(), v)
}

#[test]
fn features_and_frechet_distance_match_pytorch_fid() {
    let Some(python) = reference_python(&["torch", "torchvision", "pytorch_fid", "safetensors"])
    else {
        eprintln!(
            "SKIPPED features_and_frechet_distance_match_pytorch_fid: no Python with torch, torchvision, pytorch-fid and safetensors (set DLP_TORCH_PYTHON)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python)
        .arg(reference_script("fid_reference.py"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let device = Device::flex();
    let net = Inception::load(&dir.path().join("inception.pth"), &device).unwrap();
    let images = std::fs::read(dir.path().join("images.safetensors")).unwrap();
    let images = SafeTensors::deserialize(&images).unwrap();
    let want = std::fs::read(dir.path().join("features.safetensors")).unwrap();
    let want = SafeTensors::deserialize(&want).unwrap();
    for set in ["gray", "rgb"] {
        let (shape, unit) = f32s(&images, set);
        let got = features(&net, &unit, shape.try_into().unwrap(), &device, None);
        let (_, want) = f32s(&want, set);
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs() / (b.abs() + 0.01 * scale))
            .fold(0f32, f32::max);
        eprintln!("{set}: largest relative difference from pytorch-fid {worst:.2e}");
        assert!(
            scale > 0.0 && worst < 1e-4,
            "{set}: relative difference {worst}"
        );
    }

    let text = std::fs::read_to_string(dir.path().join("frechet.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    for case in cases {
        let d = case["d"].as_u64().unwrap() as usize;
        let rows = |k: &str| -> Vec<f64> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                .collect()
        };
        let ours = frechet(&Gaussian::fit(&rows("x"), d), &Gaussian::fit(&rows("y"), d));
        let theirs = case["fid"].as_f64().unwrap();
        eprintln!(
            "{}: FID ours {ours:.6}, pytorch-fid {theirs:.6}",
            case["name"]
        );
        assert!(
            (ours - theirs).abs() <= 1e-3 * theirs.max(1.0),
            "{}: ours {ours}, pytorch-fid {theirs}",
            case["name"]
        );
    }
}

/// KID with one subset holding every sample is the unbiased MMD² with the cubic kernel, written
/// out here element by element; and it is about 0 between two samples of one distribution.
#[test]
fn kid_is_the_unbiased_polynomial_mmd() {
    let mut rng = Rng::new(7);
    let (m, d) = (40, 6);
    let x: Vec<f32> = (0..m * d).map(|_| rng.normal() as f32).collect();
    let y: Vec<f32> = (0..m * d).map(|_| 0.5 + rng.normal() as f32).collect();
    let k = |a: &[f32], b: &[f32]| {
        let dot: f64 = a
            .iter()
            .zip(b)
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum();
        (dot / d as f64 + 1.0).powi(3)
    };
    let row = |s: &[f32], i: usize| s[i * d..(i + 1) * d].to_vec();
    let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
    for i in 0..m {
        for j in 0..m {
            if i != j {
                xx += k(&row(&x, i), &row(&x, j));
                yy += k(&row(&y, i), &row(&y, j));
            }
            xy += k(&row(&x, i), &row(&y, j));
        }
    }
    let mm = m as f64;
    let want = (xx + yy) / (mm * (mm - 1.0)) - 2.0 * xy / (mm * mm);
    let (got, std) = kid(&x, &y, d, 3, m, &mut rng);
    assert!(
        (got - want).abs() < 1e-9 * want.abs().max(1.0),
        "{got} vs {want}"
    );
    assert!(std < 1e-9, "every subset is the whole set: {std}");

    let z: Vec<f32> = (0..4000 * d).map(|_| rng.normal() as f32).collect();
    let w: Vec<f32> = (0..4000 * d).map(|_| rng.normal() as f32).collect();
    let (same, _) = kid(&z, &w, d, 20, 500, &mut rng);
    assert!(same.abs() < 0.01, "one distribution: {same}");
    assert!(got > 0.05, "shifted: {got}");
}
