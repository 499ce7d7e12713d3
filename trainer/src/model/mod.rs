//! The IPT model, in candle-transformers' shape: a config, plain structs built with
//! `new(config, vb)`, and `forward`-style methods with their shapes in comments.
//!
//! - [`llama`]: the language model (Llama architecture, Hugging Face weight names).
//! - [`autoencoder`]: the convolutional image autoencoder whose latents are imagined.
//! - [`fused`]: fused CPU kernels (with their backward) for the element-wise parts of a block.
//! - [`flow`]: rectified flow for the imagination latents (mixing, velocity, Euler sampling).
//! - [`vision`]: the input-image encoder (a small ViT and a projector).
//! - [`init`]: seeded initial weights (candle's CPU generator cannot be seeded).
//! - [`ipt`]: the whole model: the sequence of image, text and latent tokens, its mask and
//!   its two losses.

pub mod autoencoder;
pub mod flow;
pub mod fused;
pub mod init;
pub mod ipt;
pub mod llama;
pub mod vision;

/// Test helper: the variables of `varmap` that `gradients` gives no non-zero gradient (a cut
/// graph returns from `backward()` without an error, so every model's tests look).
#[cfg(test)]
pub(crate) fn without_gradient(
    varmap: &candle_nn::VarMap,
    gradients: &candle_core::backprop::GradStore,
) -> Vec<String> {
    let data = varmap.data().lock().expect("VarMap lock");
    let mut missing: Vec<String> = data
        .iter()
        .filter(|(_, var)| {
            let norm = gradients
                .get(var.as_tensor())
                .map(|g| g.abs().and_then(|a| a.sum_all()).and_then(|s| s.to_scalar::<f32>()));
            !matches!(norm, Some(Ok(n)) if n > 0.0)
        })
        .map(|(name, _)| name.clone())
        .collect();
    missing.sort();
    missing
}
