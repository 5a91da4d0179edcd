//! `dlp ddpm train --images DIR` on a folder of PNGs (class subfolders, a broken file), then
//! `dlp ddpm sample --png-dir` with no data directory.

mod common;
use common::{dlp, dlp_json, image_folder as write_folder};

#[test]
fn a_folder_trains_conditionally_and_samples_to_png_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, run, pngs) = (
        tmp.path().join("pics"),
        tmp.path().join("run"),
        tmp.path().join("pngs"),
    );
    write_folder(&data);
    let (d, r) = (data.to_str().unwrap(), run.to_str().unwrap());
    let train = [
        "ddpm",
        "train",
        "--images",
        d,
        "--size",
        "8",
        "--channels",
        "1",
        "--steps",
        "3",
    ];
    let more = ["--conditional", "--out", r, "--json"];

    let refused = dlp(&[&train[..], &more].concat());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains("broken.png") && err.contains("--lenient"),
        "{err}"
    );
    assert!(
        !run.join("config.toml").exists(),
        "a refused run starts nothing"
    );

    let s = dlp_json(&[&train[..], &more, &["--lenient", "--flip"]].concat());
    assert_eq!(s["images"]["count"], 12, "{s}");
    assert_eq!(s["images"]["skipped"], 1, "{s}");
    let skipped = std::fs::read_to_string(run.join("skipped.txt")).unwrap();
    assert!(skipped.starts_with("dot/broken.png\t"), "{skipped}");
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        config.contains("num_classes = 2") && config.contains("flip = true"),
        "{config}"
    );

    let s = dlp_json(&[
        "ddpm",
        "sample",
        "--run",
        r,
        "--n",
        "4",
        "--sampling-steps",
        "2",
        "--png-dir",
        pngs.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(s["n"], 4);
    let mut files: Vec<_> = std::fs::read_dir(&pngs)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["000000.png", "000001.png", "000002.png", "000003.png"]
    );
    let img = image::open(pngs.join("000003.png")).unwrap();
    assert_eq!(
        (img.width(), img.height(), img.color()),
        (8, 8, image::ColorType::L8)
    );
}

#[test]
fn data_audit_takes_an_image_folder_or_a_link_prediction_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = tmp.path().join("pics");
    write_folder(&pics);
    let out = tmp.path().join("audit-pics");
    let s = dlp_json(&[
        "data",
        "audit",
        pics.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(s["undecodable_files"][0][0], "dot/broken.png", "{s}");
    assert!(
        s["near_duplicates"].as_u64().unwrap() > 0,
        "the bars are near copies: {s}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<table>") && html.contains("broken.png"),
        "{html}"
    );

    let kg = tmp.path().join("kg");
    std::fs::create_dir_all(&kg).unwrap();
    let lines: Vec<String> = (0..20)
        .map(|i| format!("e{i}\tnext\te{}", (i + 1) % 20))
        .collect();
    std::fs::write(kg.join("train.txt"), lines[..16].join("\n")).unwrap();
    std::fs::write(kg.join("valid.txt"), lines[16..18].join("\n")).unwrap();
    std::fs::write(
        kg.join("test.txt"),
        [&lines[18..], &lines[..1]].concat().join("\n"),
    )
    .unwrap();
    let out = tmp.path().join("audit-kg");
    let s = dlp_json(&[
        "data",
        "audit",
        kg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        s["cross_split_duplicates"], 1,
        "e0 next e1 is in train and test: {s}"
    );
}

/// `dlp ddpm eval --inception` end to end, on Inception weights written by the test (random,
/// PyTorch's names): FID and KID against the folder the run trained on, the reference cached
/// beside the folder and reused by the next evaluation; a file that is not weights is named.
#[test]
fn inception_fid_and_kid_against_the_training_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, run) = (tmp.path().join("pics"), tmp.path().join("run"));
    write_folder(&data);
    std::fs::remove_file(data.join("dot/broken.png")).unwrap();
    let (d, r) = (data.to_str().unwrap(), run.to_str().unwrap());
    dlp_json(&[
        "ddpm",
        "train",
        "--images",
        d,
        "--size",
        "8",
        "--channels",
        "1",
        "--steps",
        "2",
        "--out",
        r,
        "--json",
    ]);
    let device = burn::tensor::Device::flex();
    let weights = tmp.path().join("inception.safetensors");
    let net = dlp_ddpm::inception::Inception::new(&device);
    dlp_core::export::state_dict(&net)
        .write(&weights, Default::default())
        .unwrap();
    let w = weights.to_str().unwrap();
    let eval = [
        "ddpm",
        "eval",
        "--run",
        r,
        "--inception",
        w,
        "--n",
        "6",
        "--sampling-steps",
        "2",
        "--json",
    ];
    let first = dlp_json(&eval);
    for key in ["fid", "kid", "kid_std"] {
        assert!(
            first[key].as_f64().is_some_and(f64::is_finite),
            "{key}: {first}"
        );
    }
    assert!(first["fid"].as_f64().unwrap() > 0.0, "{first}");
    assert_eq!(first["reference_n"], 12, "{first}");
    assert_eq!(first["reference_cached"], false, "{first}");
    let cache = first["reference_cache"].as_str().unwrap();
    assert!(
        cache.starts_with(d) && std::path::Path::new(cache).is_file(),
        "{first}"
    );
    let second = dlp_json(&eval);
    assert_eq!(second["reference_cached"], true, "{second}");
    assert_eq!(first["fid"], second["fid"], "same seed, same samples");

    std::fs::write(tmp.path().join("bad.pth"), b"not a checkpoint").unwrap();
    let bad = tmp.path().join("bad.pth");
    let b = bad.to_str().unwrap();
    let out = dlp(&[
        "ddpm",
        "eval",
        "--run",
        r,
        "--inception",
        b,
        "--n",
        "6",
        "--json",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.pth"), "{err}");
}
