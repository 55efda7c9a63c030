//! Any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, vLLM, llama.cpp's server).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::config::StoryConfig;
use crate::stories::generator::{GenerationError, StoryGenerator};
use crate::stories::material::StoryMaterial;

/// Calls `{OPENAI_BASE_URL}/chat/completions`.
pub struct OpenAiGenerator {
    client: reqwest::Client,
    endpoint: String,
    api_key: Option<SecretString>,
    model: String,
    max_tokens: u32,
    timeout: Duration,
}

impl OpenAiGenerator {
    /// A generator for `config`.
    pub fn new(config: &StoryConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(config.openai_timeout())
            .build()
            .unwrap_or_default();
        Self {
            client,
            endpoint: format!(
                "{}/chat/completions",
                config.openai_base_url.as_str().trim_end_matches('/')
            ),
            api_key: config.openai_api_key.clone(),
            model: config.openai_model.clone(),
            max_tokens: config.openai_max_tokens,
            timeout: config.openai_timeout(),
        }
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

#[async_trait::async_trait]
impl StoryGenerator for OpenAiGenerator {
    async fn generate(&self, material: &StoryMaterial) -> Result<String, GenerationError> {
        let body = json!({
            "model": self.model,
            "messages": [
                { "role": "system", "content": "You write short, encouraging, factual growth stories from a person's own work diary." },
                { "role": "user", "content": material.prompt() },
            ],
            "temperature": 0.7,
            // Bounds what one generation can cost; OpenAI, Ollama, vLLM and
            // llama.cpp all read this name.
            "max_tokens": self.max_tokens,
        });
        let mut request = self.client.post(&self.endpoint).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(%status, "the story generator answered with an error");
            return Err(GenerationError::Status(status.as_u16()));
        }
        let completion: Completion = response.json().await.map_err(classify)?;
        completion
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
            .ok_or(GenerationError::BadAnswer)
    }

    fn time_limit(&self) -> Option<Duration> {
        Some(self.timeout)
    }
}

fn classify(err: reqwest::Error) -> GenerationError {
    tracing::warn!(error = %err, "calling the story generator failed");
    if err.is_timeout() {
        GenerationError::Timeout
    } else if err.is_decode() || err.is_body() {
        GenerationError::BadAnswer
    } else {
        GenerationError::Unreachable
    }
}
