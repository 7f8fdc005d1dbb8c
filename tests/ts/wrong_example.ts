// wrong_example.ts: chat messages and realtime action requests that the
// server would refuse, so the generated types must refuse them too. This file
// must NOT compile.
//
// Each wrong line ends with "// expect TSnnnn": run.sh checks that tsc reports
// exactly that error code on exactly that line, and no error anywhere else
// (an error elsewhere, such as a failed import, would make the test pass for
// the wrong reason).
//
// Not part of tsconfig.json; run.sh compiles it on its own.

import type {
    ChatInbound,
    ChatOutbound,
    ErrorPayload,
    HeartbeatEvent,
    MessageStatusPayload,
    SendMessageEvent,
} from "../../generated/ts/chat";
import type { RealtimeActionRequest, RealtimeActionResponse } from "../../generated/ts/realtime";

// room_id is a string on the wire
export const numericRoomId: SendMessageEvent = { action: "send_message", room_id: 123 }; // expect TS2322

// the discriminator is required
export const noAction: SendMessageEvent = { room_id: "123", text: "hi" }; // expect TS2741

// ... and the union cannot pick a member without it
export const noActionInUnion: ChatInbound = { room_id: "123", text: "hi" }; // expect TS2322

// a discriminator value that no message has (TS2820: "did you mean ...")
export const unknownAction: ChatInbound = { action: "send_messages", room_id: "123" }; // expect TS2820

// unknown fields are rejected on this channel
export const extraField: HeartbeatEvent = { action: "heartbeat", ping: 1 }; // expect TS2353

// enum values are exact
const seen = { message_id: "m", status: "seen" as const };
export const badStatus: MessageStatusPayload = { type: "message_status", data: seen }; // expect TS2322

// message_id is required and not nullable
export const nullMessageId: ChatInbound = { action: "mark_read", message_id: null }; // expect TS2322

// one_of_required: an error needs `error` or `data`
export const emptyError: ErrorPayload = { type: "error" }; // expect TS2322

// ... also inside the union
export const emptyErrorInUnion: ChatOutbound = { type: "error" }; // expect TS2322

// realtime actions: each action's data is typed (schema/realtime.lua)

// subscribeArtifact takes { artifactId }, not { artifact }
export const misnamedData: RealtimeActionRequest = { type: "REQUEST", requestId: "r", action: "subscribeArtifact", data: { artifact: "a-7" } }; // expect TS2353

// ... a string
export const numericData: RealtimeActionRequest<"subscribeArtifact"> = { type: "REQUEST", requestId: "r", action: "subscribeArtifact", data: { artifactId: 7 } }; // expect TS2322

// ... and it is required
export const noData: RealtimeActionRequest = { type: "REQUEST", requestId: "r", action: "subscribeArtifact" }; // expect TS2322

// ping takes no data (absent or null)
export const dataForPing: RealtimeActionRequest = { type: "REQUEST", requestId: "r", action: "ping", data: { artifactId: "a-7" } }; // expect TS2322

// the seed's placeholder action is not an action of the channel
export const unknownRealtimeAction: RealtimeActionRequest = { type: "REQUEST", requestId: "r", action: "someAction" }; // expect TS2322

// results are typed too: ping answers { time: number }
export const textTime: RealtimeActionResponse<"ping"> = { type: "RESPONSE", requestId: "r", action: "ping", data: { time: "now" } }; // expect TS2322
