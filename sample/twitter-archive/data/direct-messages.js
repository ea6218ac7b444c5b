window.YTD.direct_messages.part0 = [
  {
    "dmConversation": {
      "conversationId": "1400000000000000001-1500000000000000000",
      "messages": [
        {
          "messageCreate": {
            "recipientId": "1500000000000000000",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1400000000000000001",
            "id": "1800000000000000003",
            "createdAt": "2026-09-04T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1400000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1500000000000000000",
            "id": "1800000000000000002",
            "createdAt": "2026-09-03T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1500000000000000000",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1400000000000000001",
            "id": "1800000000000000001",
            "createdAt": "2026-09-02T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1400000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Hey Kai!",
            "mediaUrls": [],
            "senderId": "1500000000000000000",
            "id": "1800000000000000000",
            "createdAt": "2026-09-01T20:00:00.000Z"
          }
        }
      ]
    }
  },
  {
    "dmConversation": {
      "conversationId": "1400000000000000001-1500000000000000001",
      "messages": [
        {
          "messageCreate": {
            "recipientId": "1500000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1400000000000000001",
            "id": "1800000000000000013",
            "createdAt": "2026-09-07T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1400000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1500000000000000001",
            "id": "1800000000000000012",
            "createdAt": "2026-09-06T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1500000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1400000000000000001",
            "id": "1800000000000000011",
            "createdAt": "2026-09-05T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1400000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Hey Lena!",
            "mediaUrls": [],
            "senderId": "1500000000000000001",
            "id": "1800000000000000010",
            "createdAt": "2026-09-04T20:00:00.000Z"
          }
        }
      ]
    }
  },
  {
    "dmConversation": {
      "conversationId": "1400000000000000001-1500000000000000002",
      "messages": [
        {
          "messageCreate": {
            "recipientId": "1500000000000000002",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1400000000000000001",
            "id": "1800000000000000023",
            "createdAt": "2026-09-10T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1400000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1500000000000000002",
            "id": "1800000000000000022",
            "createdAt": "2026-09-09T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1500000000000000002",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1400000000000000001",
            "id": "1800000000000000021",
            "createdAt": "2026-09-08T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1400000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Hey Tomas!",
            "mediaUrls": [],
            "senderId": "1500000000000000002",
            "id": "1800000000000000020",
            "createdAt": "2026-09-07T20:00:00.000Z"
          }
        }
      ]
    }
  },
  {
    "dmConversation": {
      "conversationId": "1400000000000000001-1500000000000000003",
      "messages": [
        {
          "messageCreate": {
            "recipientId": "1500000000000000003",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1400000000000000001",
            "id": "1800000000000000033",
            "createdAt": "2026-09-13T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1400000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1500000000000000003",
            "id": "1800000000000000032",
            "createdAt": "2026-09-12T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1500000000000000003",
            "reactions": [],
            "urls": [],
            "text": "Sounds good",
            "mediaUrls": [],
            "senderId": "1400000000000000001",
            "id": "1800000000000000031",
            "createdAt": "2026-09-11T20:00:00.000Z"
          }
        },
        {
          "messageCreate": {
            "recipientId": "1400000000000000001",
            "reactions": [],
            "urls": [],
            "text": "Hey Aiko!",
            "mediaUrls": [],
            "senderId": "1500000000000000003",
            "id": "1800000000000000030",
            "createdAt": "2026-09-10T20:00:00.000Z"
          }
        }
      ]
    }
  }
]