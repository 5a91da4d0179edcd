//! `dlp export --format pytorch`: a DDPM U-Net (conditional, from an image folder), the 2-D
//! denoiser, a DNI CNN and FC network, and a ComplEx model, each trained for a few steps, then
//! exported. Always checked here: PyTorch's names and layouts (no enum variants in the names,
//! Linear weights `[out, in]`, norms' `weight`/`bias`, batch norm's `num_batches_tracked`) and the
//! model card. Where a Python with torch and safetensors is found (`DLP_TORCH_PYTHON`, else
//! `benches/reference/.venv`, which `benches/ddpm_speed.sh` makes), the file is also loaded with
//! `load_state_dict(strict=True)` into the PyTorch module of `benches/reference/pytorch_export.py`
//! and its outputs on a fixed input must equal dlp's to 1e-5.

use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::testing::{reference_python, reference_script, shared_data, skip};
use dlp_ddpm::model::Denoiser;
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

mod common;
use common::{dlp_json, image_folder};

type Named = Vec<(String, Vec<usize>, Vec<f32>)>;
/// Tensor name → (shape, dtype).
type Shapes = HashMap<String, (Vec<usize>, String)>;

/// Exports `run` to `file` and returns the file's tensor shapes (with dtypes) and card.
fn export(run: &Path, file: &Path) -> (Shapes, HashMap<String, String>) {
    let s = dlp_json(&[
        "export",
        "--run",
        run.to_str().unwrap(),
        "--format",
        "pytorch",
        "--out",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert!(s["parameters"].as_u64().unwrap() > 0, "{s}");
    let bytes = std::fs::read(file).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let card = meta.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.shape().to_vec(), format!("{:?}", v.dtype()))))
        .collect();
    (tensors, card)
}

/// No burn-only names: enum variants, gamma/beta.
fn assert_pytorch_names(tensors: &Shapes) {
    for name in tensors.keys() {
        for bad in [
            ".Block.", ".Down.", ".Up.", ".Fc.", ".Conv.", "gamma", "beta",
        ] {
            assert!(!name.contains(bad), "`{name}` is not a PyTorch name");
        }
    }
}

/// Runs the PyTorch check on `weights` with inputs and dlp's outputs `check`, when PyTorch is here.
fn torch_agrees(test: &str, weights: &Path, check: Named) {
    let Some(python) = reference_python(&["torch", "safetensors"]) else {
        // PyTorch is optional (a 1 GB install): its absence skips this part even in CI.
        eprintln!("SKIPPED {test} (PyTorch half): no Python with torch and safetensors");
        return;
    };
    let file = weights.with_extension("check.safetensors");
    let bytes = dlp_core::checkpoint::f32_safetensors(&check, None).unwrap();
    std::fs::write(&file, bytes).unwrap();
    let script = reference_script("pytorch_export.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(weights)
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{test}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("\"ok\": true"), "{test}: {text}");
    eprintln!("{test}: {}", text.trim());
}

fn values<const D: usize>(t: Tensor<D>) -> (Vec<usize>, Vec<f32>) {
    let data = t.into_data().convert::<f32>();
    (data.shape().to_vec(), data.iter::<f32>().collect())
}

/// A fixed, varied input of `shape`.
fn input<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    let n = shape.iter().product::<usize>();
    let v: Vec<f32> = (0..n)
        .map(|i| (i * 7919 % 1000) as f32 / 500.0 - 1.0)
        .collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Trains `dlp ddpm train ARGS` into `run` far from its initialisation: a first one-step run
/// gives the configuration, which is rerun with a large learning rate and no warm-up or
/// averaging, so that every layer (the zero-initialised ones too) moves and a wrong name or
/// layout shows in the outputs.
fn ddpm_train_far(args: &[&str], run: &Path) {
    let first = run.with_extension("first");
    let (f, r) = (first.to_str().unwrap(), run.to_str().unwrap());
    dlp_json(&[args, &["--steps", "1", "--out", f, "--json"]].concat());
    let text = std::fs::read_to_string(first.join("config.toml")).unwrap();
    let text: Vec<String> = text
        .lines()
        .map(|l| match l.split(" = ").next() {
            Some("steps") => "steps = 25".into(),
            Some("learning_rate") => "learning_rate = 0.02".into(),
            Some("warmup_steps") => "warmup_steps = 0".into(),
            Some("ema_decay") => "ema_decay = 0.0".into(),
            _ => l.to_string(),
        })
        .collect();
    let cfg = run.with_extension("toml");
    std::fs::write(&cfg, text.join("\n")).unwrap();
    let c = cfg.to_str().unwrap();
    dlp_json(&[args, &["--config", c, "--out", r, "--json"]].concat());
}

#[test]
fn ddpm_unet_and_mlp_export_to_pytorch() {
    let tmp = tempfile::tempdir().unwrap();
    let (pics, run) = (tmp.path().join("pics"), tmp.path().join("unet"));
    image_folder(&pics);
    std::fs::remove_file(pics.join("dot/broken.png")).unwrap();
    let p = pics.to_str().unwrap();
    let args = [
        "ddpm",
        "train",
        "--images",
        p,
        "--size",
        "8",
        "--channels",
        "1",
    ];
    ddpm_train_far(&[&args[..], &["--conditional"]].concat(), &run);
    let file = tmp.path().join("unet.safetensors");
    let (tensors, card) = export(&run, &file);
    assert_pytorch_names(&tensors);
    assert_eq!(card["dlp_model"], "ddpm-unet");
    assert!(card["dlp_config"].contains("\"num_classes\":2"), "{card:?}");
    let ch = tensors["conv_in.weight"].0[0];
    assert_eq!(
        tensors["temb_in.weight"].0,
        vec![4 * ch, ch],
        "Linear is [out, in]"
    );
    assert_eq!(tensors["class_emb.weight"].0, vec![3, 4 * ch]);
    assert!(tensors.contains_key("norm_out.weight") && tensors.contains_key("down.1.weight"));

    let device = Device::flex();
    let cfg = dlp_ddpm::train::read_config(&run).unwrap();
    let images = dlp_ddpm::task_image::Images::without_data(&cfg).unwrap();
    let net = dlp_ddpm::train::load_ema(&run, &images, &device).unwrap();
    let x = input([3, 1, 8, 8], &device);
    let t = [0usize, 500, 999];
    let (xs, xv) = values(x.clone());
    let (ys, yv) = values(net.forward(x, &t));
    assert!(yv.iter().any(|v| v.abs() > 0.1), "the output is ~0: {yv:?}");
    let tv = t.iter().map(|&t| t as f32).collect();
    let check = vec![
        ("x".into(), xs, xv),
        ("t".into(), vec![3], tv),
        ("expected".into(), ys, yv),
    ];
    torch_agrees("ddpm U-Net", &file, check);

    let toy = tmp.path().join("toy");
    ddpm_train_far(&["ddpm", "train", "--dataset", "8gaussians"], &toy);
    let file = tmp.path().join("toy.safetensors");
    let (tensors, card) = export(&toy, &file);
    assert_eq!(card["dlp_model"], "ddpm-mlp");
    assert_eq!(tensors["input.weight"].0, vec![128, 2]);
    let cfg = dlp_ddpm::train::read_config(&toy).unwrap();
    let w = dlp_ddpm::task2d::Toy::from_config(&cfg).unwrap();
    let net = dlp_ddpm::train::load_ema(&toy, &w, &device).unwrap();
    let x = input([5, 2], &device);
    let t = [0usize, 1, 10, 500, 999];
    let (xs, xv) = values(x.clone());
    let (ys, yv) = values(net.forward(x, &t));
    let tv = t.iter().map(|&t| t as f32).collect();
    let check = vec![
        ("x".into(), xs, xv),
        ("t".into(), vec![5], tv),
        ("expected".into(), ys, yv),
    ];
    torch_agrees("ddpm MLP", &file, check);
}

#[test]
fn dni_networks_export_to_pytorch() {
    let Some(data) = shared_data() else {
        return skip("dni_networks_export_to_pytorch", "no shared data (MNIST)");
    };
    let tmp = tempfile::tempdir().unwrap();
    let device = Device::flex();
    for (model, width, first) in [
        ("cnn", "4", "blocks.0.conv.weight"),
        ("fc", "8", "blocks.0.linear.weight"),
    ] {
        let run = tmp.path().join(model);
        dlp_json(&[
            "dni",
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            data.to_str().unwrap(),
            "--model",
            model,
            "--layers",
            "2",
            "--width",
            width,
            "--epochs",
            "1",
            "--out",
            run.to_str().unwrap(),
            "--json",
        ]);
        let file = tmp.path().join(format!("{model}.safetensors"));
        let (tensors, card) = export(&run, &file);
        assert_pytorch_names(&tensors);
        assert_eq!(card["dlp_model"], "dni-net");
        assert_eq!(tensors["blocks.1.norm.num_batches_tracked"].1, "I64");
        assert_eq!(tensors["classifier.weight"].0[0], 10, "Linear is [out, in]");
        assert!(tensors.contains_key(first), "{:?}", tensors.keys());
        assert!(
            !tensors.keys().any(|k| k.starts_with("sgs")),
            "synthetic models are not exported"
        );

        let (_, input_len, _, net) = dlp_dni::export::load_net(&run, &device).unwrap();
        let x = input([4, input_len], &device);
        let (xs, xv) = values(x.clone());
        let (ys, yv) = values(net.forward(x));
        let check = vec![("x".into(), xs, xv), ("expected".into(), ys, yv)];
        torch_agrees(&format!("dni {model}"), &file, check);
    }
}

#[test]
fn complex_embeddings_export_to_pytorch() {
    let tmp = tempfile::tempdir().unwrap();
    let kg = tmp.path().join("ring");
    std::fs::create_dir_all(&kg).unwrap();
    let lines: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "e{i}\tnext\te{}\ne{i}\tback\te{}",
                (i + 1) % 12,
                (i + 11) % 12
            )
        })
        .collect();
    for split in ["train", "valid", "test"] {
        std::fs::write(kg.join(format!("{split}.txt")), lines.join("\n")).unwrap();
    }
    let run = tmp.path().join("embed");
    dlp_json(&[
        "kg",
        "embed",
        "train",
        "--dataset",
        kg.to_str().unwrap(),
        "--model",
        "complex",
        "--dim",
        "8",
        "--epochs",
        "5",
        "--out",
        run.to_str().unwrap(),
        "--json",
    ]);
    let file = tmp.path().join("complex.safetensors");
    let (tensors, card) = export(&run, &file);
    assert_eq!(card["dlp_model"], "kge");
    assert_eq!(tensors["entities.weight"].0, vec![12, 16]);
    let model = dlp_kg::embed::Kge::load(&run.join("model.safetensors")).unwrap();
    let triples: Vec<[u32; 3]> = (0..12).map(|i| [i, i % 2, (i * 5 + 3) % 12]).collect();
    let scores: Vec<f32> = triples.iter().map(|&t| model.score_triple(t)).collect();
    let flat = triples.iter().flatten().map(|&v| v as f32).collect();
    let check = vec![
        ("triples".into(), vec![12, 3], flat),
        ("expected".into(), vec![12], scores),
    ];
    torch_agrees("ComplEx", &file, check);
}
