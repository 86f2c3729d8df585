// esbuild bundles imported CSS into app.css; to TypeScript such an import is only a side effect.
declare module '*.css';
