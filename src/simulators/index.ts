export * from './cert.js';
export * from './gate.js';
export * from './simulator.js';
export * from './openai.js';
export * from './postgrest.js';
export * from './pinecone.js';
