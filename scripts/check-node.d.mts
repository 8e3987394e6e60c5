export declare const MINIMUM_NODE: string;
export declare const HOW_TO_GET_NODE: string;
export declare function nodeVersionProblem(version: string, executable?: string): string | undefined;
