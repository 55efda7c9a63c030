//! Story generators, behind one trait, chosen by `STORY_GENERATOR`.

use std::sync::Arc;

use crate::config::{GeneratorKind, StoryConfig};
use crate::stories::material::StoryMaterial;
use crate::stories::{openai, template};

/// Why a generation failed, in words fit for the client (no internals).
#[derive(Debug, Clone, thiserror::Error)]
pub enum GenerationError {
    #[error("the story generator did not answer in time")]
    Timeout,
    #[error("the story generator is unreachable")]
    Unreachable,
    #[error("the story generator answered with an error (HTTP {0})")]
    Status(u16),
    #[error("the story generator gave an unusable answer")]
    BadAnswer,
}

/// Writes a story from diary material.
#[async_trait::async_trait]
pub trait StoryGenerator: Send + Sync {
    /// The story's text.
    async fn generate(&self, material: &StoryMaterial) -> Result<String, GenerationError>;

    /// The longest one generation may take, when the generator enforces a limit.
    fn time_limit(&self) -> Option<std::time::Duration> {
        None
    }
}

/// The generator `config` selects.
pub fn from_config(config: &StoryConfig) -> Arc<dyn StoryGenerator> {
    match config.story_generator {
        GeneratorKind::Template => Arc::new(template::TemplateGenerator),
        GeneratorKind::Openai => Arc::new(openai::OpenAiGenerator::new(config)),
    }
}
