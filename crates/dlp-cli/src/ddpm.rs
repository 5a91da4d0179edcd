//! `dlp ddpm`.

use crate::{Common, emit};
use dlp_ddpm::{BetaSchedule, GaussianDiffusion};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a noise schedule: betas, alphas_cumprod and the posterior (Eqs. 6-7), in f64.
    Schedule {
        /// linear, quadratic, cosine or sigmoid.
        #[arg(long, default_value = "linear")]
        schedule: String,
        /// Number of diffusion steps T.
        #[arg(long, default_value_t = 1000)]
        steps: usize,
    },
}

pub fn run(cmd: &Command, common: &Common) -> dlp_core::Result<()> {
    match cmd {
        Command::Schedule { schedule, steps } => {
            let schedule: BetaSchedule = schedule.parse()?;
            if *steps == 0 {
                return Err(dlp_core::Error::Usage("--steps: must be at least 1".into()));
            }
            let d = GaussianDiffusion::new(schedule, *steps);
            let mut summary = d.to_json();
            summary["dlp_version"] = dlp_core::run::VERSION.into();
            let mut human = format!("{schedule:?} schedule, T = {steps}\n");
            human += "    t        beta   alphas_cumprod   posterior_var\n";
            let shown: Vec<usize> = if *steps <= 10 {
                (0..*steps).collect()
            } else {
                [
                    0,
                    1,
                    2,
                    steps / 4,
                    steps / 2,
                    3 * steps / 4,
                    steps - 2,
                    steps - 1,
                ]
                .to_vec()
            };
            for t in shown {
                human += &format!(
                    "{:>5}  {:>10.4e}  {:>15.6e}  {:>14.4e}\n",
                    t + 1,
                    d.betas[t],
                    d.alphas_cumprod[t],
                    d.posterior_variance[t]
                );
            }
            emit(common, &summary, human.trim_end());
            Ok(())
        }
    }
}
