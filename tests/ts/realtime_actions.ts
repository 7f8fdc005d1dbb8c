// realtime_actions.ts: seed 002's action requests and responses, typed with
// the generated action types (generated/ts/realtime.ts). Part of
// tsconfig.json: `tsc --strict` must accept every line. wrong_example.ts has
// the requests it must refuse.

import type {
    RealtimeActionData,
    RealtimeActionName,
    RealtimeActionRequest,
    RealtimeActionResponse,
    RealtimeActionResult,
    RealtimeInbound,
    RealtimeOutbound,
    RealtimeRequest,
} from "../../generated/ts/realtime";
import { RealtimeActionNames, RealtimeActions } from "../../generated/ts/realtime";

// The seed's "Action Execution" example: processData with { input }.
export const processData: RealtimeActionRequest<"processData"> = {
    type: "REQUEST",
    requestId: "req-1",
    action: "processData",
    data: { input: "value" },
};

// Actions without data: no data, or null.
export const ping: RealtimeActionRequest<"ping"> = { type: "REQUEST", requestId: "1700000000000", action: "ping" };
export const whoami: RealtimeActionRequest = { type: "REQUEST", requestId: "2", action: "whoami", data: null };

// Any action's request, told apart by its action.
export const subscribe: RealtimeActionRequest = {
    type: "REQUEST",
    requestId: "req-3",
    action: "subscribeArtifact",
    data: { artifactId: "a-7" },
};

// A typed request is still the channel's envelope and inbound message.
export const asEnvelope: RealtimeRequest = subscribe;
export const asInbound: RealtimeInbound = processData;

// Responses: the seed's processData answer, and Switchboard's own actions.
export const processDataResponse: RealtimeActionResponse<"processData"> = {
    type: "RESPONSE",
    requestId: "req-1",
    action: "processData",
    data: { output: "value" },
};
export const pingResponse: RealtimeActionResponse<"ping"> = {
    type: "RESPONSE",
    requestId: "1700000000000",
    action: "ping",
    data: { time: 1700000000000 },
};
export const whoamiResponse: RealtimeActionResponse<"whoami"> = {
    type: "RESPONSE",
    requestId: "2",
    action: "whoami",
    data: { userId: "u-1", companyId: "c-42", sessionId: "s-9", subscriptions: [], permissions: [] },
};
export const asOutbound: RealtimeOutbound = pingResponse;

// The seed's sendAction, typed: the data must be the action's.
export function sendAction<A extends RealtimeActionName>(
    emit: (event: "message", text: string) => void,
    request: RealtimeActionRequest<A>,
): void {
    emit("message", JSON.stringify(request));
}

// A response handler narrows the result by the action it answers.
export function describe(response: RealtimeActionResponse): string {
    switch (response.action) {
        case "ping":
            return new Date(response.data.time).toISOString();
        case "whoami":
            return `${response.data.userId}@${response.data.companyId}`;
        case "subscribeArtifact":
        case "unsubscribeArtifact":
            return response.data.artifactId;
        default:
            return "";
    }
}

// Data and result of one action, and the run-time table.
export const artifact: RealtimeActionData<"subscribeArtifact"> = { artifactId: "a-7" };
export const noData: RealtimeActionData<"ping"> = undefined;
export const time: RealtimeActionResult<"ping">["time"] = 1700000000000;
export const needsPermission: "processData" | null = RealtimeActions.processData.permission;
export const names: readonly RealtimeActionName[] = RealtimeActionNames;
