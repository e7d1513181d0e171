// The Vercel AI SDK's default OpenAI model (`openai(model)`: the Responses API) with one tool,
// through Cortex. Prints one JSON line: the final text and the tool calls the model made.
// Usage: node ai_sdk_agent.mjs <generate|stream> <model>; CORTEX_URL and CORTEX_KEY in the environment.
import { generateText, streamText, tool, stepCountIs } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { z } from "zod";

const [mode, modelId] = process.argv.slice(2);
const openai = createOpenAI({ baseURL: `${process.env.CORTEX_URL}/v1`, apiKey: process.env.CORTEX_KEY });
const options = {
  model: openai(modelId),
  prompt: "weather in Paris?",
  tools: {
    get_weather: tool({
      description: "The weather in a city",
      inputSchema: z.object({ location: z.string() }),
      execute: async ({ location }) => `sunny in ${location}`,
    }),
  },
  stopWhen: stepCountIs(3),
};

let result;
if (mode === "stream") {
  const streamed = streamText({ ...options, onError: ({ error }) => { throw error; } });
  const parts = [];
  for await (const part of streamed.fullStream) parts.push(part.type);
  result = { text: await streamed.text, steps: (await streamed.steps).length, parts };
} else {
  const generated = await generateText(options);
  result = { text: generated.text, steps: generated.steps.length };
}
console.log(JSON.stringify(result));
